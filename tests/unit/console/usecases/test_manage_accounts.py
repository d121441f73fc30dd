"""Managing accounts on a fake unit of work: bound accounts only, no duplicates; a reset or a disable ends the
person's sessions; an operator's change names an existing account."""

from __future__ import annotations

import pytest

from services.console.adapters.tables import ConsoleSession
from services.console.domain.account_rules import AccountError
from services.console.usecases.manage_accounts import (
    AccountAction,
    account_of,
    all_accounts,
    change_account,
    create_account,
    reset_account,
    set_disabled,
)
from tests.unit.console.usecases.support import NOW, NURSE_ACCOUNT, with_nurse


def session_of(user_id: str, token_hash: str) -> ConsoleSession:
    return ConsoleSession(
        token_hash=token_hash, user_id=user_id, stage="signed_in", csrf_token="c", created_at=NOW, last_seen_at=NOW
    )


async def test_an_account_is_created_once_with_an_argon2id_hash() -> None:
    uow = await with_nurse()
    account = await account_of(uow=uow, user_id="nurse")
    assert account is not None and account.password_hash.startswith("$argon2id$") and account.totp_enrolled_at == NOW
    with pytest.raises(AccountError, match="exists already"):
        await create_account(uow=uow, **NURSE_ACCOUNT)
    assert [row.user_id for row in await all_accounts(uow=uow)] == ["nurse"]


async def test_a_reset_unlocks_forgets_the_second_factor_and_ends_sessions() -> None:
    uow = await with_nurse()
    uow.sessions.add(session_of("nurse", "h1"))
    uow.accounts.rows["nurse"].failed_attempts = 2
    await reset_account(uow=uow, user_id="nurse", password="another long password", reset_second_factor=True, now=NOW)
    account = uow.accounts.rows["nurse"]
    assert (account.failed_attempts, account.totp_secret, account.locked_until) == (0, None, None)
    assert uow.sessions.rows == {}
    with pytest.raises(AccountError, match="at least"):
        await reset_account(uow=uow, user_id="nurse", password="short", reset_second_factor=False, now=NOW)


async def test_disabling_ends_sessions_and_enabling_lets_the_person_back() -> None:
    uow = await with_nurse()
    uow.sessions.add(session_of("nurse", "h1"))
    await set_disabled(uow=uow, user_id="nurse", disabled=True, now=NOW)
    assert uow.accounts.rows["nurse"].disabled_at == NOW and uow.sessions.rows == {}
    await change_account(uow=uow, user_id="nurse", action=AccountAction.ENABLE, new_password="unused", now=NOW)
    assert uow.accounts.rows["nurse"].disabled_at is None


async def test_an_operator_reset_sets_the_given_password_and_an_unknown_account_is_refused() -> None:
    uow = await with_nurse()
    before = uow.accounts.rows["nurse"].password_hash
    new = "a brand new password"
    account = await change_account(uow=uow, user_id="nurse", action=AccountAction.RESET, new_password=new, now=NOW)
    assert account.user_id == "nurse" and uow.accounts.rows["nurse"].password_hash != before
    with pytest.raises(AccountError):
        await change_account(uow=uow, user_id="nobody", action=AccountAction.DISABLE, new_password=new, now=NOW)
