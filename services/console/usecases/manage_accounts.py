"""Use cases: people's accounts on the console: create, reset, disable or enable, look up.

Resetting or disabling an account ends its sessions in the same unit of work, so no browser stays signed in
with an old password or on a disabled account."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from services.common.roles import Role
from services.console.adapters.passwords import hash_password
from services.console.adapters.tables import Account
from services.console.domain.account_rules import AccountError, check_new_account, check_password_length
from services.console.usecases.ports import ConsoleUnitOfWork


async def create_account(
    *,
    uow: ConsoleUnitOfWork,
    user_id: str,
    display_name: str,
    email: str,
    organisation: str,
    role: Role,
    establishments: list[str],
    password: str,
    now: datetime,
    totp_secret: str | None = None,
    demo: bool = False,
) -> Account:
    """A new account; with ``totp_secret`` it is enrolled already (demo personas), else enrols at first sign-in."""
    check_new_account(user_id=user_id, role=role, establishments=establishments, password=password)
    account = Account(
        user_id=user_id,
        display_name=display_name,
        email=email,
        organisation=organisation,
        role=role.value,
        establishments=",".join(establishments),
        password_hash=hash_password(password),
        created_at=now,
        demo=demo,
        totp_secret=totp_secret,
        totp_enrolled_at=now if totp_secret else None,
    )
    async with uow:
        if await uow.accounts.get(user_id) is not None:
            raise AccountError(f"account {user_id} exists already")
        uow.accounts.save(account)
    return account


async def account_of(*, uow: ConsoleUnitOfWork, user_id: str) -> Account | None:
    async with uow:
        return await uow.accounts.get(user_id)


async def all_accounts(*, uow: ConsoleUnitOfWork) -> list[Account]:
    async with uow:
        return await uow.accounts.all()


async def reset_account(
    *, uow: ConsoleUnitOfWork, user_id: str, password: str, reset_second_factor: bool, now: datetime
) -> None:
    """A new password (and, when asked, a new second factor enrolled at next sign-in); unlocks; ends sessions."""
    check_password_length(password)
    async with uow:
        account = await uow.accounts.get(user_id)
        if account is None:
            raise AccountError(f"no account {user_id}")
        account.password_hash = hash_password(password)
        account.failed_attempts, account.locked_until = 0, None
        if reset_second_factor:
            account.totp_secret, account.totp_enrolled_at, account.totp_last_step = None, None, None
        uow.accounts.save(account)
        await uow.sessions.remove_all_of(user_id)


async def set_disabled(*, uow: ConsoleUnitOfWork, user_id: str, disabled: bool, now: datetime) -> None:
    async with uow:
        account = await uow.accounts.get(user_id)
        if account is None:
            raise AccountError(f"no account {user_id}")
        account.disabled_at = now if disabled else None
        uow.accounts.save(account)
        if disabled:
            await uow.sessions.remove_all_of(user_id)


class AccountAction(StrEnum):
    DISABLE = "disable"
    ENABLE = "enable"
    RESET = "reset"


async def change_account(
    *, uow: ConsoleUnitOfWork, user_id: str, action: AccountAction, new_password: str, now: datetime
) -> Account:
    """An operator's change to an account: disable, enable, or reset (``new_password``, a new second factor)."""
    account = await account_of(uow=uow, user_id=user_id)
    if account is None:
        raise AccountError(f"no account {user_id}")
    if action == AccountAction.RESET:
        await reset_account(uow=uow, user_id=user_id, password=new_password, reset_second_factor=True, now=now)
    else:
        await set_disabled(uow=uow, user_id=user_id, disabled=action == AccountAction.DISABLE, now=now)
    return account
