"""The console's accounts and sessions on a real (SQLite) database: argon2id, throttling, TOTP used once,
disabling, idle timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from services.common.db import Database
from services.common.migrations import upgrade
from services.common.roles import Role
from services.console.adapters.unit_of_work import SqlConsoleUnitOfWork
from services.console.domain.account_rules import AccountError, SignInRefused, Throttle
from services.console.domain.session_rules import Lifetimes, SessionStage
from services.console.usecases.manage_accounts import account_of, create_account, set_disabled
from services.console.usecases.sessions import current_session, start_session
from services.console.usecases.sign_in import check_code, check_password
from ttg.personas import MIGRATIONS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
THROTTLE = Throttle(attempts=3, lockout=timedelta(minutes=15))
PASSWORD = "correct horse battery"
SECRET = pyotp.random_base32()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    upgrade(url, MIGRATIONS)
    found = Database(url)
    await create_account(
        uow=SqlConsoleUnitOfWork(found),
        user_id="nurse",
        display_name="N",
        email="n@example.org",
        organisation="DMI-HC",
        role=Role.PRISON_HEALTHCARE,
        establishments=["DMI"],
        password=PASSWORD,
        now=NOW,
        totp_secret=SECRET,
    )
    yield found
    await found.dispose()


async def test_passwords_are_argon2id_and_accounts_are_bound(database: Database) -> None:
    account = await account_of(uow=SqlConsoleUnitOfWork(database), user_id="nurse")
    assert account is not None and account.password_hash.startswith("$argon2id$")
    for role, establishments in ((Role.PRISON_HEALTHCARE, []), (Role.AGENCY, ["DMI"]), (Role.CONSOLE, [])):
        with pytest.raises(AccountError):
            await create_account(
                uow=SqlConsoleUnitOfWork(database),
                user_id="x",
                display_name="X",
                email="x@example.org",
                organisation="O",
                role=role,
                establishments=establishments,
                password=PASSWORD,
                now=NOW,
            )
    with pytest.raises(AccountError, match="at least"):
        await create_account(
            uow=SqlConsoleUnitOfWork(database),
            user_id="y",
            display_name="Y",
            email="y@example.org",
            organisation="A99001",
            role=Role.AGENCY,
            establishments=[],
            password="short",
            now=NOW,
        )


@pytest.mark.hazard("H65")
async def test_failed_attempts_lock_the_account_even_for_the_right_password(database: Database) -> None:
    for _ in range(3):
        with pytest.raises(SignInRefused) as refused:
            await check_password(
                uow=SqlConsoleUnitOfWork(database), user_id="nurse", password="wrong", throttle=THROTTLE, now=NOW
            )
        assert not refused.value.locked
    with pytest.raises(SignInRefused) as refused:
        await check_password(
            uow=SqlConsoleUnitOfWork(database), user_id="nurse", password=PASSWORD, throttle=THROTTLE, now=NOW
        )
    assert refused.value.locked
    later = NOW + timedelta(minutes=16)
    assert (
        await check_password(
            uow=SqlConsoleUnitOfWork(database), user_id="nurse", password=PASSWORD, throttle=THROTTLE, now=later
        )
    ).user_id == "nurse"
    with pytest.raises(SignInRefused):  # an unknown user gets the same answer
        await check_password(
            uow=SqlConsoleUnitOfWork(database), user_id="nobody", password=PASSWORD, throttle=THROTTLE, now=NOW
        )


async def test_a_code_works_once_and_wrong_codes_count_as_failures(database: Database) -> None:
    code = pyotp.TOTP(SECRET).at(NOW)
    assert await check_code(uow=SqlConsoleUnitOfWork(database), user_id="nurse", code=code, throttle=THROTTLE, now=NOW)
    assert not await check_code(
        uow=SqlConsoleUnitOfWork(database), user_id="nurse", code=code, throttle=THROTTLE, now=NOW
    )
    assert not await check_code(
        uow=SqlConsoleUnitOfWork(database), user_id="nurse", code="000000", throttle=THROTTLE, now=NOW
    )
    assert not await check_code(
        uow=SqlConsoleUnitOfWork(database), user_id="nurse", code="12345", throttle=THROTTLE, now=NOW
    )
    account = await account_of(uow=SqlConsoleUnitOfWork(database), user_id="nurse")
    assert account is not None and account.locked_until is not None  # three failures in a row


async def test_disabling_ends_sessions_and_refuses_sign_in(database: Database) -> None:
    token = await start_session(
        uow=SqlConsoleUnitOfWork(database), user_id="nurse", stage=SessionStage.SIGNED_IN, now=NOW
    )
    lifetimes = Lifetimes(idle=timedelta(minutes=30), longest=timedelta(hours=12))
    assert (
        await current_session(uow=SqlConsoleUnitOfWork(database), token=token, now=NOW, lifetimes=lifetimes) is not None
    )
    await set_disabled(uow=SqlConsoleUnitOfWork(database), user_id="nurse", disabled=True, now=NOW)
    assert await current_session(uow=SqlConsoleUnitOfWork(database), token=token, now=NOW, lifetimes=lifetimes) is None
    with pytest.raises(SignInRefused):
        await check_password(
            uow=SqlConsoleUnitOfWork(database), user_id="nurse", password=PASSWORD, throttle=THROTTLE, now=NOW
        )


@pytest.mark.hazard("H66")
async def test_a_session_ends_after_the_idle_timeout_and_each_use_extends_it(database: Database) -> None:
    lifetimes = Lifetimes(idle=timedelta(minutes=30), longest=timedelta(hours=12))
    token = await start_session(
        uow=SqlConsoleUnitOfWork(database), user_id="nurse", stage=SessionStage.SIGNED_IN, now=NOW
    )
    assert await current_session(
        uow=SqlConsoleUnitOfWork(database), token=token, now=NOW + timedelta(minutes=29), lifetimes=lifetimes
    )
    assert await current_session(
        uow=SqlConsoleUnitOfWork(database), token=token, now=NOW + timedelta(minutes=58), lifetimes=lifetimes
    )
    assert (
        await current_session(
            uow=SqlConsoleUnitOfWork(database), token=token, now=NOW + timedelta(minutes=89), lifetimes=lifetimes
        )
        is None
    )
    assert (
        await current_session(
            uow=SqlConsoleUnitOfWork(database), token=token, now=NOW + timedelta(minutes=90), lifetimes=lifetimes
        )
        is None
    )


@pytest.mark.hazard("H66")
async def test_a_background_refresh_does_not_hold_off_the_idle_timeout(database: Database) -> None:
    lifetimes = Lifetimes(idle=timedelta(minutes=30), longest=timedelta(hours=12))
    token = await start_session(
        uow=SqlConsoleUnitOfWork(database), user_id="nurse", stage=SessionStage.SIGNED_IN, now=NOW
    )
    for minutes in (10, 20, 29):  # the lounge refreshing itself on an unattended screen
        assert await current_session(
            uow=SqlConsoleUnitOfWork(database),
            token=token,
            now=NOW + timedelta(minutes=minutes),
            lifetimes=lifetimes,
            touch=False,
        )
    assert (
        await current_session(
            uow=SqlConsoleUnitOfWork(database),
            token=token,
            now=NOW + timedelta(minutes=31),
            lifetimes=lifetimes,
            touch=False,
        )
        is None
    )
