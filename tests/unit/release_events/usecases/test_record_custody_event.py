"""Recording a custody event on a fake unit of work: stored and published once per (person, sequence); the same
event again is replayed, another event with a used sequence conflicts; a person held elsewhere is refused."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.custody import CustodyEventV1
from contracts.envelope import EventType
from services.common.audit import AuditEntry
from services.release_events.domain.custody_rules import Custody, CustodyRefused
from services.release_events.domain.notices import IdempotencyConflict
from services.release_events.usecases.record_custody_event import Accepted, record_custody_event
from tests.unit.release_events.fakes import FakeReleaseEventsUnitOfWork
from tests.unit.release_events.usecases.support import NOW
from ttg.synthetic import custody_event

PERSON = "A1234BC"
ENTRY = AuditEntry(
    actor="prison-dmi",
    actor_role="prison_healthcare",
    actor_organisation="DMI",
    action="custody_event.submitted",
    resource_type="custody_event",
    subject=PERSON,
)


async def record(uow: FakeReleaseEventsUnitOfWork, body: dict[str, Any], event_id: str = "ce1") -> Accepted:
    return await record_custody_event(
        uow=uow,
        event=CustodyEventV1.model_validate(body),
        body=body,
        custody_event_id=event_id,
        now=NOW,
        source="t",
        correlation_id="c1",
        audit_entry=ENTRY,
    )


async def test_a_transfer_is_stored_published_and_moves_the_person() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    await uow.register.save(PERSON, Custody(holder="HHI", sequence=1), set_by="notice:n1", now=NOW)
    body = custody_event(PERSON, "transfer", sequence=2, establishment_code="DMI", from_establishment_code="HHI")
    accepted = await record(uow, body)
    assert accepted == Accepted("ce1", replayed=False)
    assert uow.register.lines[PERSON] == (Custody(holder="DMI", sequence=2), "custody_event:ce1")
    assert len(uow.outbox.of_type(EventType.CUSTODY_EVENT_RECORDED.value)) == 1
    assert [(item.action, item.resource_id) for item in uow.audit.entries] == [("custody_event.submitted", "ce1")]


async def test_the_same_event_again_is_replayed_and_another_with_its_sequence_conflicts() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = custody_event(PERSON, "release_cancelled", sequence=3)
    await record(uow, body)
    assert await record(uow, body, "ce2") == Accepted("ce1", replayed=True)
    with pytest.raises(IdempotencyConflict):
        await record(uow, {**body, "detail": "another event"}, "ce3")
    assert set(uow.custody_events.rows) == {"ce1"} and len(uow.outbox.events) == 1


async def test_an_event_from_an_establishment_that_does_not_hold_the_person_is_refused() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    await uow.register.save(PERSON, Custody(holder="HHI", sequence=1), set_by="notice:n1", now=NOW)
    with pytest.raises(CustodyRefused) as refused:
        await record(uow, custody_event(PERSON, "release_cancelled", sequence=2, establishment_code="DMI"))
    assert refused.value.refused.field == "establishment_code"
    assert uow.custody_events.rows == {} and uow.outbox.events == []
    [refusal] = uow.audit.entries
    assert (refusal.action, refusal.outcome, refusal.details["sequence"]) == ("custody_event.refused", "refused", 2)
