"""Who may hold a console account and when it may sign in, as pure rules over plain data.

Every role needs a second factor: all but operators see clinical data, and operators manage the directory and
people's accounts. Throttling is per account and stored with it, so every replica of the console sees it: after
``attempts`` failed passwords or codes in a row the account refuses sign-in for ``lockout`` (the same answer
whether the password is right or not, so guessing stops paying). A TOTP code works once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

from services.common.credentials import CredentialError, validate_binding
from services.common.roles import Role

USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
ESTABLISHMENT = re.compile(r"^[A-Z]{3}$")
MIN_PASSWORD = 12
PERSON_ROLES = (Role.PRISON_HEALTHCARE, Role.AGENCY, Role.PROBATION, Role.OPERATOR)


class AccountError(Exception):
    """An account operation that cannot be done (duplicate, unknown, bad binding, weak password)."""


class SignInRefused(Exception):
    def __init__(self, locked: bool = False) -> None:
        super().__init__("locked" if locked else "refused")
        self.locked = locked


@dataclass(frozen=True)
class Throttle:
    attempts: int
    lockout: timedelta


def check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def check_new_account(*, user_id: str, role: Role, establishments: list[str], password: str) -> None:
    """A person's account: a plain user id, a person's role, the establishments that role needs, a long password."""
    if not USER_ID.match(user_id):
        raise AccountError("a user id is 1-40 lower-case letters, digits, '.', '_' or '-'")
    if role not in PERSON_ROLES:
        raise AccountError(f"a person cannot hold the role {role.value}")
    if any(not ESTABLISHMENT.match(code) for code in establishments):
        raise AccountError("an establishment code is three capital letters")
    try:
        validate_binding(role, establishments)
    except CredentialError as error:
        raise AccountError(str(error)) from None
    check_password_length(password)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def after_failure(failed_attempts: int, throttle: Throttle, now: datetime) -> tuple[int, datetime | None]:
    """The failure count and lock after one more failure: the last allowed failure locks and starts counting again."""
    failed = failed_attempts + 1
    return (0, now + throttle.lockout) if failed >= throttle.attempts else (failed, None)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
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


def code_is_fresh(step: int | None, last_step: int | None) -> bool:
    """A code matched and is newer than the last one used: each code works once."""
    return step is not None and (last_step is None or step > last_step)


def provisioning_uri(secret: str, user_id: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user_id, issuer_name=issuer)
