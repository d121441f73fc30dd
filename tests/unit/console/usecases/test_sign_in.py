"""Signing in on a fake unit of work: failures lock the account even for the right password; an unknown user
gets the same answer; a code works once; enrolment stores the secret only when a code proves it."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from services.console.domain.account_rules import SignInRefused
from services.console.usecases.sign_in import check_code, check_password
from tests.unit.console.usecases.support import NOW, PASSWORD, SECRET, THROTTLE, with_nurse


async def test_three_failures_lock_the_account_until_the_lockout_ends() -> None:
    uow = await with_nurse()
    for _ in range(3):
        with pytest.raises(SignInRefused) as refused:
            await check_password(uow=uow, user_id="nurse", password="wrong", throttle=THROTTLE, now=NOW)
        assert not refused.value.locked
    with pytest.raises(SignInRefused) as refused:
        await check_password(uow=uow, user_id="nurse", password=PASSWORD, throttle=THROTTLE, now=NOW)
    assert refused.value.locked
    later = NOW + timedelta(minutes=16)
    account = await check_password(uow=uow, user_id=" Nurse ", password=PASSWORD, throttle=THROTTLE, now=later)
    assert account.user_id == "nurse" and uow.accounts.rows["nurse"].failed_attempts == 0


async def test_an_unknown_or_disabled_account_is_refused_like_a_wrong_password() -> None:
    uow = await with_nurse()
    with pytest.raises(SignInRefused) as refused:
        await check_password(uow=uow, user_id="nobody", password=PASSWORD, throttle=THROTTLE, now=NOW)
    assert not refused.value.locked
    uow.accounts.rows["nurse"].disabled_at = NOW
    with pytest.raises(SignInRefused):
        await check_password(uow=uow, user_id="nurse", password=PASSWORD, throttle=THROTTLE, now=NOW)


async def test_a_code_works_once_and_bad_codes_count_as_failures() -> None:
    uow = await with_nurse()
    code = pyotp.TOTP(SECRET).at(NOW)
    assert await check_code(uow=uow, user_id="nurse", code=code, throttle=THROTTLE, now=NOW)
    assert not await check_code(uow=uow, user_id="nurse", code=code, throttle=THROTTLE, now=NOW)
    assert not await check_code(uow=uow, user_id="nurse", code="12345", throttle=THROTTLE, now=NOW)
    assert uow.accounts.rows["nurse"].failed_attempts == 2


async def test_enrolment_keeps_the_secret_only_once_a_code_proves_the_app_holds_it() -> None:
    uow = await with_nurse(secret=None)
    secret = pyotp.random_base32()
    assert not await check_code(uow=uow, user_id="nurse", code="000000", throttle=THROTTLE, now=NOW, secret=secret)
    assert uow.accounts.rows["nurse"].totp_secret is None
    code = pyotp.TOTP(secret).at(NOW)
    assert await check_code(uow=uow, user_id="nurse", code=code, throttle=THROTTLE, now=NOW, secret=secret)
    enrolled = await uow.accounts.get("nurse")
    assert enrolled is not None and (enrolled.totp_secret, enrolled.totp_enrolled_at) == (secret, NOW)
