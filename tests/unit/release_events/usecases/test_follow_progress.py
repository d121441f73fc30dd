"""Following a notice downstream on a fake unit of work: a pack event sets the pack and pending deliveries, an
outcome sets one delivery, each event applies once, and the newest event wins whatever the arrival order."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from contracts.envelope import CloudEvent, EventType
from services.release_events.usecases.follow_progress import apply_delivery_outcome, apply_handover_event
from tests.unit.release_events.fakes import FakeReleaseEventsUnitOfWork
from tests.unit.release_events.usecases.support import NOW


def event(type_: EventType, at: datetime, data: dict[str, object]) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()), source="t", type=type_.value, time=at, subject="A1234BC", dataschema="urn:t:1", data=data
    )


def pack(type_: EventType, version: int, at: datetime) -> CloudEvent:
    data = {"handover_id": "h1", "version": version, "notice_id": "n1", "distribution": [{"agency_code": "A99001"}]}
    return event(type_, at, data)


def outcome(status: str, at: datetime) -> CloudEvent:
    data = {
        "webhook_id": "msg_1",
        "source_event_id": "e1",
        "event_type": "handover.pack.issued",
        "handover_id": "h1",
        "agency_code": "A99001",
        "status": status,
        "attempts": 1,
    }
    return event(EventType.DELIVERY_SUCCEEDED, at, data)


@pytest.mark.parametrize("order", ["in order", "outcome first"])
async def test_the_projection_ends_the_same_whatever_the_order_and_applies_each_event_once(order: str) -> None:
    uow = FakeReleaseEventsUnitOfWork()
    issued, delivered = pack(EventType.HANDOVER_PACK_ISSUED, 1, NOW), outcome("delivered", NOW + timedelta(seconds=1))
    steps = [(issued, apply_handover_event), (delivered, apply_delivery_outcome)]
    for item, apply in steps if order == "in order" else steps[::-1]:
        assert await apply(uow=uow, event=item, now=NOW)
    assert not await apply_handover_event(uow=uow, event=issued, now=NOW)  # a redelivery
    assert (uow.progress.packs["h1"].version, uow.progress.packs["h1"].state) == (1, "issued")
    assert uow.progress.deliveries[("h1", "A99001")].state == "delivered"


async def test_an_older_pack_event_does_not_replace_a_newer_one() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    await apply_handover_event(uow=uow, event=pack(EventType.HANDOVER_PACK_WITHDRAWN, 2, NOW), now=NOW)
    await apply_handover_event(uow=uow, event=pack(EventType.HANDOVER_PACK_ISSUED, 1, NOW - timedelta(1)), now=NOW)
    assert (uow.progress.packs["h1"].version, uow.progress.packs["h1"].state) == (2, "withdrawn")


async def test_an_outcome_that_is_not_a_delivery_result_is_ignored() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    assert not await apply_delivery_outcome(uow=uow, event=outcome("retrying", NOW), now=NOW)
    assert uow.progress.deliveries == {} and not uow.committed
