"""The notifier keeps the latest release date of each handover on both backends: an amended pack moves the
escalation deadline to the new date (a skipped insert must be seen as skipped on PostgreSQL too)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from contracts.envelope import CloudEvent, EventType
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.migrations import upgrade
from services.common.sql import insert_ignore
from services.notifier.adapters.tables import HandoverFact
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.usecases.plan_deliveries import remember_handover
from tests.conftest import BACKENDS, require_backend
from tests.support.system import POSTGRES_URL, drop_database

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifier" / "migrations"


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    require_backend(request.param)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notifier.db'}"
    else:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/ttg_it_{uuid.uuid4().hex[:10]}"
    await asyncio.to_thread(upgrade, url, MIGRATIONS)
    db = Database(url)
    yield db
    await db.dispose()
    if request.param == "postgresql":
        drop_database(url)


def pack_event(kind: EventType, day: str) -> CloudEvent:
    release = {
        "establishment_code": "DMI",
        "date": day,
        "destination": {"kind": "address", "address": {"postcode": "DH1 1AA"}},
    }
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="urn:test",
        type=kind.value,
        time=datetime.now(UTC),
        subject="A1234BC",
        data={"handover_id": "h-1", "pack": {"release": release}},
    )


async def test_a_skipped_insert_is_reported_as_skipped(database: Database) -> None:
    row = {"handover_id": "h-0", "subject": "A1234BC", "updated_at": datetime.now(UTC), "withdrawn": False}
    async with database.transaction() as session:
        assert await insert_ignore(session, HandoverFact, row) is True
    async with database.transaction() as session:
        assert await insert_ignore(session, HandoverFact, row) is False


@pytest.mark.hazard("H40")
async def test_an_amended_pack_moves_the_release_date_escalation_uses(database: Database) -> None:
    clock = SystemClock()
    for kind, day in ((EventType.HANDOVER_PACK_ISSUED, "2026-12-12"), (EventType.HANDOVER_PACK_AMENDED, "2026-12-16")):
        async with NotifierUnitOfWork(database, clock) as uow:
            await remember_handover(uow, event=pack_event(kind, day), handover_id="h-1", now=clock.now())
    async with database.session() as session:
        facts = await session.get(HandoverFact, "h-1")
    assert facts is not None and facts.release_date == date(2026, 12, 16)
