"""Use cases: sign in with a password, then a TOTP code (or enrol one at the first sign-in).

Failures count against the account (``domain.account_rules``); a success clears them, and upgrades a password
hash made with older parameters."""

from __future__ import annotations

from datetime import datetime

from services.console.adapters.passwords import hash_password, needs_rehash, verify_password
from services.console.adapters.tables import Account
from services.console.domain.account_rules import SignInRefused, Throttle, after_failure, code_is_fresh, is_locked
from services.console.domain.account_rules import matching_step as step_of
from services.console.usecases.ports import ConsoleUnitOfWork


async def _failed(uow: ConsoleUnitOfWork, user_id: str, throttle: Throttle, now: datetime) -> None:
    async with uow:
        account = await uow.accounts.get(user_id)
        if account is not None:
            account.failed_attempts, locked_until = after_failure(account.failed_attempts, throttle, now)
            account.locked_until = locked_until or account.locked_until
            uow.accounts.save(account)


async def _succeeded(uow: ConsoleUnitOfWork, user_id: str, **changes: object) -> None:
    async with uow:
        account = await uow.accounts.get(user_id)
        if account is not None:
            account.failed_attempts, account.locked_until = 0, None
            for name, value in changes.items():
                setattr(account, name, value)
            uow.accounts.save(account)


async def check_password(
    *, uow: ConsoleUnitOfWork, user_id: str, password: str, throttle: Throttle, now: datetime
) -> Account:
    """The account when the password is right and the account may sign in; else :class:`SignInRefused`."""
    async with uow:
        account = await uow.accounts.get(user_id.strip().lower())
    if account is None:
        verify_password(None, password)  # as long as for a known user: the answer tells nothing
        raise SignInRefused()
    if is_locked(account.locked_until, now):
        raise SignInRefused(locked=True)
    if not verify_password(account.password_hash, password):
        await _failed(uow, account.user_id, throttle, now)
        raise SignInRefused()
    if account.disabled_at is not None:
        raise SignInRefused()
    changes = {"password_hash": hash_password(password)} if needs_rehash(account.password_hash) else {}
    await _succeeded(uow, account.user_id, **changes)
    return account


async def check_code(
    *, uow: ConsoleUnitOfWork, user_id: str, code: str, throttle: Throttle, now: datetime, secret: str | None = None
) -> bool:
    """A TOTP code of the account (or of ``secret`` being enrolled); each code works once; failures throttle."""
    async with uow:
        account = await uow.accounts.get(user_id)
    if account is None or account.disabled_at is not None or is_locked(account.locked_until, now):
        return False
    secret = secret or account.totp_secret
    step = step_of(secret, code, now) if secret else None
    if step is None or not code_is_fresh(step, account.totp_last_step):
        await _failed(uow, user_id, throttle, now)
        return False
    changes: dict[str, object] = {"totp_last_step": step}
    if account.totp_secret is None:
        changes |= {"totp_secret": secret, "totp_enrolled_at": now}
    await _succeeded(uow, user_id, **changes)
    return True
