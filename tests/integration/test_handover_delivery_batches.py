"""Delivery outcomes applied a run at a time (the delivery-outcome consumer's batch handler), on SQLite and
PostgreSQL: a run mixing plain deliveries, a repeat, failures after deliveries (one kept open, one routed on), a
delivery to the referral it was routed to, an unknown handover and a webhook that carries no referral leaves exactly
what applying the same outcomes one by one leaves; and a referral the session already holds is not left with its
old delivery status; on SQLite the run reads referrals through the index of handover and agency (a row-value IN
read every referral, a cost that grew with the table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent, EventType
from services.common.clock import FrozenClock
from services.common.db import Database
from services.handover.adapters.outcome_tables import ReferralDelivered
from services.handover.adapters.tables import Handover, Referral
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.usecases.deliveries import record_delivery_outcome, record_delivery_outcomes
from services.handover.usecases.open_handover import open_handover
from tests.support.query_plans import sqlite_plans, statements_run
from tests.unit.handover.factories import DIRECTORY, directory_row, notice
from tests.unit.handover.fakes import NOW, SOURCE, event_of, submitted


@pytest.fixture
def database(handover_database: Database) -> Database:
    return handover_database


def unit_of_work(database: Database) -> Callable[[], HandoverSqlUnitOfWork]:
    return lambda: HandoverSqlUnitOfWork(database, FrozenClock(NOW))


async def seeded_handover(database: Database, prison_number: str, notice_id: str) -> Handover:
    """A handover opened from a Durham notice (version 1 issued to its agencies), as the consumer opens one."""
    async with unit_of_work(database)() as uow:
        if await uow.directory.count() == 0:
            for agency in DIRECTORY:
                await uow.directory.save(directory_row(agency, at=NOW))
    person = notice(establishment="DMI", changes=lambda raw: raw.update(prison_number=prison_number))
    event = submitted(person, notice_id)
    assert await open_handover(uow=unit_of_work(database)(), event=event, source=SOURCE, now=NOW, registration_days=3)
    async with unit_of_work(database)() as uow:
        opened = await uow.handovers.of_notice(notice_id)
    assert opened is not None
    return opened


def outcome(handover_id: str, agency: str, status: str, *, webhook: str = "handover.pack.issued") -> CloudEvent:
    data = DeliveryOutcomeV1(
        webhook_id=f"msg_{agency}_{status}",
        source_event_id="e-1",
        event_type=webhook,
        handover_id=handover_id,
        agency_code=agency,
        status=status,
        attempts=1 if status == "delivered" else 3,
        reason=None if status == "delivered" else "410 Gone",
    )
    kind = EventType.DELIVERY_SUCCEEDED if status == "delivered" else EventType.DELIVERY_DEAD_LETTERED
    return event_of(kind, data, subject="A1234BC")


def mixed_run(handover_id: str) -> list[CloudEvent]:
    gp = outcome(handover_id, "A99001", "delivered")
    return [
        gp,
        outcome(handover_id, "CMHT-DUR", "delivered"),
        gp,  # delivered twice by the broker: applied once
        outcome(handover_id, "A99001", "dead_lettered"),  # after its delivery: kept open, escalated, not delivered
        outcome(handover_id, "CMHT-DUR", "dead_lettered"),  # routed on to RECONNECT-DUR, alone
        outcome(handover_id, "RECONNECT-DUR", "delivered"),  # the referral it was routed to
        outcome("no-such-handover", "A99001", "delivered"),
        outcome(handover_id, "SMS-DUR", "delivered", webhook="handover.pack.withdrawn"),  # carries no referral
        outcome(handover_id, "PDU-DUR", "delivered"),
    ]


async def state_of(database: Database, handover_id: str) -> dict[str, Any]:
    """What the outcomes changed, without the ids a run makes anew: each referral's status and delivery, by agency
    and order of creation, and how many referrals were noted delivered."""
    async with database.session() as session:
        referrals = (
            await session.exec(
                select(Referral)
                .where(Referral.handover_id == handover_id)
                .order_by(Referral.created_at, Referral.agency_code, Referral.status)
            )
        ).all()
        noted = (
            await session.exec(
                select(ReferralDelivered.referral_id).where(
                    ReferralDelivered.referral_id.in_([r.id for r in referrals])  # type: ignore[attr-defined]
                )
            )
        ).all()
    return {
        "referrals": [
            (r.agency_code, r.status, r.delivery_status, r.delivery_detail, r.reason_code, r.id in noted)
            for r in referrals
        ],
        "noted": len(noted),
    }


@pytest.mark.hazard("H93")
async def test_a_run_applied_together_leaves_what_applying_it_one_by_one_leaves(database: Database) -> None:
    together = await seeded_handover(database, "A1111AA", "notice-together")
    alone = await seeded_handover(database, "B2222BB", "notice-alone")

    async with database.batch_all_or_nothing():  # as the consumer applies a group
        await record_delivery_outcomes(
            new_uow=unit_of_work(database), events=mixed_run(together.id), source=SOURCE, now=NOW
        )
    for event in mixed_run(alone.id):
        await record_delivery_outcome(uow=unit_of_work(database)(), event=event, source=SOURCE, now=NOW)

    applied_together, applied_alone = await state_of(database, together.id), await state_of(database, alone.id)
    assert applied_together == applied_alone
    by_agency = {agency: (status, delivery) for agency, status, delivery, *_ in applied_together["referrals"]}
    assert by_agency["A99001"] == ("requested", "dead_lettered"), "in order: the dead letter came last"
    assert by_agency["CMHT-DUR"] == ("cancelled", "dead_lettered"), "routed on, in order after its delivery"
    assert by_agency["RECONNECT-DUR"][1] == "delivered"
    assert applied_together["noted"] >= 3


@pytest.mark.hazard("H93")
async def test_a_run_applied_twice_changes_nothing_the_second_time(database: Database) -> None:
    handover = await seeded_handover(database, "A1111AA", "notice-twice")
    run = mixed_run(handover.id)
    async with database.batch_all_or_nothing():
        await record_delivery_outcomes(new_uow=unit_of_work(database), events=run, source=SOURCE, now=NOW)
    once = await state_of(database, handover.id)
    async with database.batch_all_or_nothing():
        staged = await record_delivery_outcomes(new_uow=unit_of_work(database), events=run, source=SOURCE, now=NOW)
    assert not staged, "nothing to publish: every event is in the inbox already"
    assert await state_of(database, handover.id) == once


@pytest.mark.hazard("H93")
async def test_a_referral_the_session_holds_reads_delivered_once_marked(database: Database) -> None:
    handover = await seeded_handover(database, "A1111AA", "notice-held")
    async with unit_of_work(database)() as uow:
        [held] = await uow.referrals.open_of_agency(handover.id, "A99001")
        held.delivery_status, held.delivery_detail = "failed", "503"  # written before the mark (autoflush)
        await uow.referrals.mark_delivered([(handover.id, "A99001")])
        assert (held.delivery_status, held.delivery_detail) == ("delivered", None), "no read needed"
        assert held not in uow.session.dirty, "nothing left to write back over the mark"
        fetched = await uow.referrals.get(held.id)
        assert fetched is held and fetched.delivery_status == "delivered"
    async with unit_of_work(database)() as uow:
        stored = await uow.referrals.get(held.id)
        assert stored is not None and (stored.delivery_status, stored.delivery_detail) == ("delivered", None)


async def test_a_run_of_plain_deliveries_reads_referrals_through_their_index_on_sqlite(database: Database) -> None:
    if not database.url.startswith("sqlite"):
        pytest.skip("query plans are SQLite's: PostgreSQL plans by its statistics")
    handovers = [await seeded_handover(database, f"A{n}111AA", f"notice-{n}") for n in range(3)]
    run = [outcome(handover.id, "A99001", "delivered") for handover in handovers]
    with statements_run(database) as ran:
        async with database.batch_all_or_nothing():
            await record_delivery_outcomes(new_uow=unit_of_work(database), events=run, source=SOURCE, now=NOW)
    touching = [(sql, params[0] if isinstance(params, list) else params) for sql, params in ran if " referral" in sql]
    assert len(touching) == 2, "the first deliveries noted, the referrals marked: one statement each for the run"
    for plan in sqlite_plans(database, touching):
        steps = [step for step in plan if " referral " in f"{step} "]
        assert steps and all("USING INDEX ix_referral_handover_agency" in step for step in steps), plan
