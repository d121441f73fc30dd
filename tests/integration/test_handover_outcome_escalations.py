"""The outcomes dataset's escalations on a real SQLite file: a notifier's deadline escalations and a pack nobody
else can take are kept per referral through handover's own unit of work, and the report counts each escalated
referral once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.delivery import (
    REFERRAL_ESCALATED_SCHEMA,
    DeliveryEventType,
    DeliveryOutcomeV1,
    EscalationDeadline,
    OutstandingReferral,
    ReferralEscalatedV1,
)
from contracts.envelope import CloudEvent, EventType
from services.common.clock import FrozenClock
from services.common.db import Database
from services.common.migrations import upgrade
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.domain.outcomes import Ending, Measure
from services.handover.usecases.deliveries import record_delivery_outcome
from services.handover.usecases.escalations_noted import note_deadline_escalation
from services.handover.usecases.open_handover import open_handover
from services.handover.usecases.outcomes import ReportScope, keep_outcome, outcomes_report
from services.handover.wiring import MIGRATIONS
from tests.unit.handover.factories import DIRECTORY, directory_row, notice
from tests.unit.handover.fakes import SOURCE, submitted

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)


def event(kind: str, data: ReferralEscalatedV1 | DeliveryOutcomeV1, event_id: str) -> CloudEvent:
    return CloudEvent(
        id=event_id,
        source="urn:test",
        type=kind,
        time=NOW,
        dataschema=REFERRAL_ESCALATED_SCHEMA,
        data=data.model_dump(mode="json"),
    )


def escalated(handover_id: str, deadline: EscalationDeadline, escalation_id: str) -> CloudEvent:
    later = NOW + timedelta(hours=72)
    item = OutstandingReferral(
        agency_code="A99001", agency_kind="gp_practice", item="gp", delivered_at=NOW, due_at=later
    )
    data = ReferralEscalatedV1(
        escalation_id=escalation_id,
        handover_id=handover_id,
        agency_code="A99001",
        agency_kind="gp_practice",
        deadline=deadline,
        due_at=later,
        delivered_at=NOW,
        escalated_at=later,
        told=["RECONNECT-DUR"],
        outstanding=[item],
    )
    return event(DeliveryEventType.REFERRAL_ESCALATED.value, data, f"event-{escalation_id}")


def failed(handover_id: str, agency_code: str) -> CloudEvent:
    data = DeliveryOutcomeV1(
        webhook_id=f"msg-{agency_code}",
        source_event_id="e-1",
        event_type="handover.pack.issued",
        handover_id=handover_id,
        agency_code=agency_code,
        status="failed",
        attempts=3,
        reason="410 Gone",
    )
    return event(EventType.DELIVERY_FAILED.value, data, f"failed-{agency_code}")


def test_escalations_are_kept_per_referral_and_counted_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    upgrade(url, MIGRATIONS)

    async def run() -> None:
        database = Database(url)
        clock = FrozenClock(NOW)

        def uow() -> HandoverSqlUnitOfWork:
            return HandoverSqlUnitOfWork(database, clock)

        try:
            async with uow() as seeding:
                for agency in DIRECTORY:
                    await seeding.directory.save(directory_row(agency, at=NOW))
            assert await open_handover(
                uow=uow(), event=submitted(notice(establishment="DMI")), source=SOURCE, now=NOW, registration_days=3
            )
            async with uow() as reading:
                [handover] = await reading.handovers.open_of_person(notice(establishment="DMI").prison_number)
            hid = handover.id
            assert await note_deadline_escalation(
                uow=uow(), event=escalated(hid, EscalationDeadline.AFTER_DELIVERY, "esc-1")
            )
            assert await note_deadline_escalation(
                uow=uow(), event=escalated(hid, EscalationDeadline.BEFORE_RELEASE, "esc-2")
            )
            assert not await note_deadline_escalation(
                uow=uow(), event=escalated(hid, EscalationDeadline.BEFORE_RELEASE, "esc-2")
            )
            # The mental health team's pack fails: re-routed to RECONNECT, whose pack fails too: nobody left.
            assert await record_delivery_outcome(uow=uow(), event=failed(hid, "CMHT-DUR"), source=SOURCE, now=NOW)
            assert await record_delivery_outcome(uow=uow(), event=failed(hid, "RECONNECT-DUR"), source=SOURCE, now=NOW)
            assert await keep_outcome(uow=uow(), handover_id=hid, ending=Ending.RELEASED, now=NOW)
            month = NOW.date().replace(day=1)
            figures = await outcomes_report(
                uow=uow(), first_month=month, last_month=month, scope=ReportScope(None, None, False)
            )
        finally:
            await database.dispose()
        # The GP referral: two deadlines, one referral. CMHT-DUR: re-routed, not escalated. RECONNECT-DUR: kept
        # open with nobody to take it, escalated. PDU-DUR: never escalated.
        counts = {f.agency: f.count for f in figures if f.measure == Measure.ESCALATIONS}
        assert counts == {"A99001": 1, "RECONNECT-DUR": 1}
        assert {f.agency: f.count for f in figures if f.measure == Measure.REROUTES} == {"CMHT-DUR": 1}

    asyncio.run(run())
