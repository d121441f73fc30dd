"""A console account on a fake unit of work, for the use-case tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp

from services.common.roles import Role
from services.console.domain.account_rules import Throttle
from services.console.usecases.manage_accounts import create_account
from tests.unit.console.fakes import FakeConsoleUnitOfWork

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
THROTTLE = Throttle(attempts=3, lockout=timedelta(minutes=15))
SECRET = pyotp.random_base32()


NURSE_ACCOUNT: dict[str, Any] = {
    "user_id": "nurse",
    "display_name": "N",
    "email": "n@example.org",
    "organisation": "DMI-HC",
    "role": Role.PRISON_HEALTHCARE,
    "establishments": ["DMI"],
    "password": PASSWORD,
    "now": NOW,
}


async def with_nurse(secret: str | None = SECRET) -> FakeConsoleUnitOfWork:
    uow = FakeConsoleUnitOfWork()
    await create_account(uow=uow, **NURSE_ACCOUNT, totp_secret=secret)
    return uow
