"""A claim reads only what it may take, however many deliveries wait: every agency with deliveries waiting is
reached (more agencies than SQLite allows terms in one compound SELECT included), the oldest go first across
agencies, and on SQLite every read goes through an index, never a scan of the deliveries. On a migrated SQLite
file, with the real statements; no broker, no HTTP."""

from __future__ import annotations

import uuid

from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.usecases.dispatch_round import claim_due
from services.notifier.usecases.new_deliveries import new_delivery
from tests.support.query_plans import sqlite_plans, statements_run
from tests.unit.notifier.store_support import T0, uow


async def _add_one_each(database: Database, codes: list[str], subject: str = "A1234BC") -> None:
    async with database.transaction() as session:
        for code in codes:
            session.add(
                new_delivery(
                    agency_code=code,
                    webhook_type="handover.pack.issued",
                    source_event_id=str(uuid.uuid4()),
                    subject=subject,
                    handover_id="h",
                    data={},
                    correlation_id=None,
                    now=T0,
                )
            )


async def test_every_agency_waiting_is_reached_and_the_oldest_go_first_however_many_agencies(
    database: Database,
) -> None:
    # Stored newest code first, so the oldest deliveries are not the first codes in the index's order, and they
    # span the claim's two reads (256 agencies, then 44).
    codes = [f"AG{n:04d}" for n in reversed(range(300))]
    await _add_one_each(database, codes)
    clock = FrozenClock(T0)

    oldest = await claim_due(uow=uow(database, clock), now=T0, limit=100, lease_seconds=60)
    assert [delivery.agency_code for delivery in oldest] == codes[:100]

    rest = await claim_due(uow=uow(database, clock), now=T0, limit=1000, lease_seconds=60)
    assert [delivery.agency_code for delivery in rest] == codes[100:], "every other agency, once, in order"
    assert await claim_due(uow=uow(database, clock), now=T0, limit=1000, lease_seconds=60) == [], "all leased"


async def test_on_sqlite_a_claim_reads_deliveries_through_indexes_only(database: Database) -> None:
    for person in range(40):
        await _add_one_each(database, ["A", "B", "C"], subject=f"A{person:04d}BC")
    with statements_run(database) as ran:
        claimed = await claim_due(uow=uow(database, FrozenClock(T0)), now=T0, limit=100, lease_seconds=60)
    assert len(claimed) == 100

    reads = [(statement, parameters) for statement, parameters in ran if "delivery" in statement]
    assert len(reads) == 3, "which agencies wait, their first due deliveries, the lease"
    plans = sqlite_plans(database, reads)
    for plan in plans:
        scans = [step for step in plan if step.startswith("SCAN delivery")]
        assert scans == [], f"a claim read every delivery: {plan}"
    assert any("ix_delivery_waiting" in step for step in plans[0]), plans[0]
    assert any("ix_delivery_waiting (status=? AND agency_code=?)" in step for step in plans[1]), plans[1]
