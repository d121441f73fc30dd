"""Demo personas: one person per kind of user, so that a newcomer can sign in to the console at once.

``ttg up`` creates them in the console's database (or gives them a new password when they exist) and prints
their user ids, passwords and TOTP keys. They are flagged ``demo``, which is the only kind of account whose
current security code ``ttg users code`` will show. Never for production: the organisations are fictitious.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.common.db import Database
from services.common.migrations import upgrade
from services.common.roles import Role
from services.console.adapters.passwords import new_password, new_totp_secret
from services.console.adapters.unit_of_work import SqlConsoleUnitOfWork
from services.console.usecases.manage_accounts import account_of, create_account, reset_account


@dataclass(frozen=True)
class Persona:
    user_id: str
    display_name: str
    organisation: str
    role: Role
    establishments: tuple[str, ...] = ()
    what: str = ""
    enrolled: bool = True  # False: the person enrols an authenticator app (QR code) at the first sign-in


PERSONAS = (
    Persona("hc.durham", "Priya Shah", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",), "prison healthcare, HMP Durham"),
    Persona("cmht.durham", "Tom Reilly", "CMHT-DUR", Role.AGENCY, (), "community mental-health team, Durham"),
    Persona("gp.a99001", "Dr Ama Owusu", "A99001", Role.AGENCY, (), "GP practice A99001, Durham"),
    Persona("probation.durham", "Sam Carter", "PDU-DUR", Role.PROBATION, (), "probation delivery unit, Durham"),
    Persona("operator", "Lee Morgan", "TTG-OPS", Role.OPERATOR, (), "service operator"),
)

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "console" / "migrations"


@dataclass(frozen=True)
class Provisioned:
    persona: Persona
    password: str
    totp_secret: str


async def _provision(database_url: str, personas: tuple[Persona, ...]) -> list[Provisioned]:
    database = Database(database_url)
    now = datetime.now(UTC)
    made: list[Provisioned] = []
    try:
        for persona in personas:
            password, uow = new_password(), SqlConsoleUnitOfWork(database)
            existing = await account_of(uow=uow, user_id=persona.user_id)
            if existing is None:
                secret = new_totp_secret() if persona.enrolled else ""
                await create_account(
                    uow=uow,
                    user_id=persona.user_id,
                    display_name=persona.display_name,
                    email=f"{persona.user_id}@example.org",
                    organisation=persona.organisation,
                    role=persona.role,
                    establishments=list(persona.establishments),
                    password=password,
                    now=now,
                    totp_secret=secret or None,
                    demo=True,
                )
            else:
                await reset_account(
                    uow=uow, user_id=persona.user_id, password=password, reset_second_factor=False, now=now
                )
                secret = existing.totp_secret or ""
            made.append(Provisioned(persona, password, secret))
    finally:
        await database.dispose()
    return made


def provision_personas(database_url: str, personas: tuple[Persona, ...] = PERSONAS) -> list[Provisioned]:
    """Create or re-password the personas in the console's database (migrated first)."""
    upgrade(database_url, MIGRATIONS)
    return asyncio.run(_provision(database_url, personas))
