"""People's accounts: create, reset, disable; passwords (argon2id) and the second factor (TOTP).

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, the RFC 9106 low-memory profile); a hash made
with older parameters is upgraded at the next successful sign-in. Every role needs a second factor: all but
operators see clinical data, and operators manage the directory and people's accounts.

Throttling is per account and stored with it, so every replica of the console sees it: after
``sign_in_attempts`` failed passwords or codes in a row the account refuses sign-in for
``sign_in_lockout_minutes`` (the same answer whether the password is right or not, so guessing stops paying).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from services.common.credentials import CredentialError, Role, validate_binding
from services.common.db import Database
from services.console.adapters.tables import Account

_hasher = PasswordHasher()
_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_ESTABLISHMENT = re.compile(r"^[A-Z]{3}$")
MIN_PASSWORD = 12
PERSON_ROLES = (Role.PRISON_HEALTHCARE, Role.AGENCY, Role.PROBATION, Role.OPERATOR)
# A hash of a random password: checked when the account does not exist, so that an unknown user name takes
# as long as a known one and the answer tells nothing.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Exception):
    """An account operation that cannot be done (duplicate, unknown, bad binding, weak password)."""


@dataclass(frozen=True)
class Throttle:
    attempts: int
    lockout: timedelta


def new_password() -> str:
    return secrets.token_urlsafe(12)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def needs_second_factor(role: Role) -> bool:
    return role in PERSON_ROLES


async def create(
    database: Database,
    *,
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
    if not _USER_ID.match(user_id):
        raise AccountError("a user id is 1-40 lower-case letters, digits, '.', '_' or '-'")
    if role not in PERSON_ROLES:
        raise AccountError(f"a person cannot hold the role {role.value}")
    if any(not _ESTABLISHMENT.match(code) for code in establishments):
        raise AccountError("an establishment code is three capital letters")
    try:
        validate_binding(role, establishments)
    except CredentialError as error:
        raise AccountError(str(error)) from None
    _check_password(password)
    account = Account(
        user_id=user_id,
        display_name=display_name,
        email=email,
        organisation=organisation,
        role=role.value,
        establishments=",".join(establishments),
        password_hash=_hasher.hash(password),
        created_at=now,
        demo=demo,
        totp_secret=totp_secret,
        totp_enrolled_at=now if totp_secret else None,
    )
    async with database.transaction() as session:
        if await session.get(Account, user_id) is not None:
            raise AccountError(f"account {user_id} exists already")
        session.add(account)
    return account


async def get(database: Database, user_id: str) -> Account | None:
    async with database.session() as session:
        return await session.get(Account, user_id)


async def all_accounts(database: Database) -> list[Account]:
    async with database.session() as session:
        return list((await session.exec(select(Account).order_by(Account.organisation, Account.user_id))).all())


async def reset(database: Database, *, user_id: str, password: str, reset_second_factor: bool, now: datetime) -> None:
    """A new password (and, when asked, a new second factor enrolled at next sign-in); unlocks; ends sessions."""
    from services.console.sessions import end_all

    _check_password(password)
    async with database.transaction() as session:
        account = await session.get(Account, user_id)
        if account is None:
            raise AccountError(f"no account {user_id}")
        account.password_hash = _hasher.hash(password)
        account.failed_attempts, account.locked_until = 0, None
        if reset_second_factor:
            account.totp_secret, account.totp_enrolled_at, account.totp_last_step = None, None, None
        session.add(account)
        await end_all(session, user_id)


async def set_disabled(database: Database, *, user_id: str, disabled: bool, now: datetime) -> None:
    from services.console.sessions import end_all

    async with database.transaction() as session:
        account = await session.get(Account, user_id)
        if account is None:
            raise AccountError(f"no account {user_id}")
        account.disabled_at = now if disabled else None
        session.add(account)
        if disabled:
            await end_all(session, user_id)


# --- signing in -------------------------------------------------------------------------------------------


def is_locked(account: Account, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


async def _failed(database: Database, user_id: str, throttle: Throttle, now: datetime) -> None:
    async with database.transaction() as session:
        account = await session.get(Account, user_id)
        if account is None:
            return
        account.failed_attempts += 1
        if account.failed_attempts >= throttle.attempts:
            account.locked_until, account.failed_attempts = now + throttle.lockout, 0
        session.add(account)


async def _succeeded(database: Database, user_id: str, **changes: object) -> None:
    async with database.transaction() as session:
        account = await session.get(Account, user_id)
        if account is not None:
            account.failed_attempts, account.locked_until = 0, None
            for name, value in changes.items():
                setattr(account, name, value)
            session.add(account)


class SignInRefused(Exception):
    def __init__(self, locked: bool = False) -> None:
        super().__init__("locked" if locked else "refused")
        self.locked = locked


async def check_password(
    database: Database, *, user_id: str, password: str, throttle: Throttle, now: datetime
) -> Account:
    """The account when the password is right and the account may sign in; else :class:`SignInRefused`."""
    account = await get(database, user_id.strip().lower())
    if account is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        raise SignInRefused()
    if is_locked(account, now):
        raise SignInRefused(locked=True)
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        await _failed(database, account.user_id, throttle, now)
        raise SignInRefused() from None
    if account.disabled_at is not None:
        raise SignInRefused()
    changes = {"password_hash": _hasher.hash(password)} if _hasher.check_needs_rehash(account.password_hash) else {}
    await _succeeded(database, account.user_id, **changes)
    return account


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step a code belongs to (this one or either neighbour, for clock drift), or None."""
    code = code.replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * totp.interval), code):
            return candidate
    return None


async def check_code(
    database: Database, *, user_id: str, code: str, throttle: Throttle, now: datetime, secret: str | None = None
) -> bool:
    """A TOTP code of the account (or of ``secret`` being enrolled); each code works once; failures throttle."""
    account = await get(database, user_id)
    if account is None or account.disabled_at is not None or is_locked(account, now):
        return False
    secret = secret or account.totp_secret
    step = _matching_step(secret, code, now) if secret else None
    if step is None or (account.totp_last_step is not None and step <= account.totp_last_step):
        await _failed(database, user_id, throttle, now)
        return False
    changes: dict[str, object] = {"totp_last_step": step}
    if account.totp_secret is None:
        changes |= {"totp_secret": secret, "totp_enrolled_at": now}
    await _succeeded(database, user_id, **changes)
    return True


def provisioning_uri(secret: str, account: Account, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account.user_id, issuer_name=issuer)


def new_totp_secret() -> str:
    return pyotp.random_base32()
