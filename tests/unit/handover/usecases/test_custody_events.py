"""Custody events on the fake unit of work: logged with their outcome, applied in the person's sequence."""

from __future__ import annotations

from datetime import date, timedelta

from contracts.custody import CustodyEventKind, CustodyEventRecordedV1, CustodyEventV1
from contracts.envelope import CloudEvent, EventType
from services.handover.usecases.custody_events import apply_custody_event
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, event_of, opened


def custody_event(prison_number: str, sequence: int, kind: CustodyEventKind, **fields: object) -> CloudEvent:
    event = CustodyEventV1.model_validate(
        {
            "prison_number": prison_number,
            "sequence": sequence,
            "kind": kind,
            "establishment_code": "DMI",
            "occurred_at": NOW,
            **fields,
        }
    )
    data = CustodyEventRecordedV1(custody_event_id=f"ce-{sequence}", received_at=NOW, event=event)
    return event_of(EventType.CUSTODY_EVENT_RECORDED, data, subject=prison_number)


async def apply(uow: FakeHandoverUnitOfWork, event: CloudEvent) -> bool:
    return await apply_custody_event(uow=uow, event=event, source=SOURCE, now=NOW, registration_days=3)


async def test_a_release_date_change_amends_the_pack_and_is_logged_applied() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    later = handover.release_date + timedelta(days=7)
    changed = custody_event(handover.prison_number, 1, CustodyEventKind.RELEASE_DATE_CHANGED, release_date=later)

    assert await apply(uow, changed)
    assert handover.current_version == 2 and handover.release_date == later
    [amended] = uow.events(EventType.HANDOVER_PACK_AMENDED)
    assert amended["version"] == 2 and amended["changes"]
    [row] = uow.custody.rows
    assert (row.outcome, row.action, row.handover_id) == ("applied", "amend_release_date", handover.id)
    assert not await apply(uow, changed), "the same event again changes nothing"


async def test_a_cancellation_withdraws_the_case() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))

    assert await apply(uow, custody_event(handover.prison_number, 1, CustodyEventKind.RELEASE_CANCELLED))
    assert handover.state == "withdrawn"
    [withdrawn] = uow.events(EventType.HANDOVER_PACK_WITHDRAWN)
    assert withdrawn["reason_code"] == "release_cancelled"


async def test_a_recall_closes_the_case() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))

    assert await apply(uow, custody_event(handover.prison_number, 1, CustodyEventKind.RECALLED))
    assert handover.state == "closed"
    assert uow.events(EventType.HANDOVER_PACK_WITHDRAWN)[0]["reason_code"] == "recalled"


async def test_a_date_change_after_a_cancellation_asks_the_prison_for_a_new_notice() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    await apply(uow, custody_event(handover.prison_number, 1, CustodyEventKind.RELEASE_CANCELLED))
    changed = custody_event(
        handover.prison_number, 2, CustodyEventKind.RELEASE_DATE_CHANGED, release_date=date(2027, 1, 4)
    )

    assert await apply(uow, changed)
    assert handover.state == "withdrawn" and uow.custody.rows[-1].outcome == "needs_new_notice"
    asking = uow.events(EventType.HANDOVER_PACK_WITHDRAWN)[-1]
    assert asking["reason_code"] == "new_notice_needed"
    assert [entry["agency_code"] for entry in asking["distribution"]] == ["PH-DMI"]


async def test_an_event_before_the_notice_is_held_then_applied_when_the_notice_opens_the_case() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    release = notice(establishment="DMI")
    later = release.release.date + timedelta(days=3)
    changed = custody_event(release.prison_number, 1, CustodyEventKind.RELEASE_DATE_CHANGED, release_date=later)

    assert not await apply(uow, changed)
    assert uow.custody.rows[0].outcome == "held" and uow.custody.rows[0].handover_id is None
    handover = await opened(uow, release)
    assert handover.release_date == later and handover.current_version == 2
    assert uow.custody.rows[0].outcome == "applied" and uow.custody.rows[0].handover_id == handover.id


async def test_released_marks_the_case_released_and_tells_nobody() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    staged = len(uow.outbox.events)

    released = custody_event(handover.prison_number, 1, CustodyEventKind.RELEASED, reason="released")
    assert not await apply(uow, released)
    assert handover.state == "released" and len(uow.outbox.events) == staged
