"""Claiming deliveries in order and within each endpoint's room, pausing a failing endpoint, dead-lettering and
replay: the notifier's use cases on a real (SQLite file) database, on a frozen clock; no broker, no HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.envelope import EventType
from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.domain.agencies import Directory
from services.notifier.domain.states import DeliveryStatus
from services.notifier.usecases import queries
from services.notifier.usecases.endpoint_control import set_endpoint_status
from tests.unit.notifier.store_support import (
    T0,
    add,
    claim,
    finish,
    outbox,
    remember,
    replay,
    uow,
)


@pytest.mark.hazard("H26", "H43")
async def test_a_persons_later_message_waits_for_the_earlier_one_to_the_same_endpoint(
    database: Database, directory: Directory
) -> None:
    clock = FrozenClock(T0)
    first = await add(database, directory, "A", "A1234BC", T0)
    second = await add(database, directory, "A", "A1234BC", T0)
    other_person = await add(database, directory, "A", "B1234BC", T0)
    other_endpoint = await add(database, directory, "B", "A1234BC", T0)

    assert await claim(database, clock) == [first.webhook_id, other_person.webhook_id, other_endpoint.webhook_id]
    await finish(database, clock, directory, first, DeliveryStatus.PENDING, 500)
    for done in (other_person, other_endpoint):
        await finish(database, clock, directory, done, DeliveryStatus.DELIVERED)
    clock.advance(timedelta(minutes=10))
    assert await claim(database, clock) == [first.webhook_id], "the second waits while the first is pending"
    await finish(database, clock, directory, first, DeliveryStatus.DEAD_LETTERED, 500)
    assert await claim(database, clock) == [], "dead-lettered: the next one still waits for it"
    assert await replay(database, clock, webhook_id=first.webhook_id) == [first.webhook_id]
    assert await claim(database, clock) == [first.webhook_id], "the replay goes first, in its place"
    await finish(database, clock, directory, first, DeliveryStatus.DELIVERED)
    assert await claim(database, clock) == [second.webhook_id], "delivered: the next one may go"


@pytest.mark.hazard("H30")
async def test_held_endpoints_and_room_limit_what_is_claimed(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    for person in range(5):
        await add(database, directory, "A", f"A{person:04d}BC", T0)
    b = await add(database, directory, "B", "A0000BC", T0)
    assert await claim(database, clock, held={"A"}) == [b.webhook_id]
    clock.advance(timedelta(minutes=5))  # the lease on B runs out; A gets at most two
    claimed = await claim(database, clock, capacity={"A": 2})
    assert len(claimed) == 3 and b.webhook_id in claimed


@pytest.mark.hazard("H30")
async def test_a_paused_endpoint_is_not_claimed_until_resumed(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    delivery = await add(database, directory, "A", "A1234BC", T0)
    await set_endpoint_status(uow=uow(database, clock), agency_code="A", actor="op", now=clock.now(), pause=True)
    assert await claim(database, clock) == []
    await set_endpoint_status(uow=uow(database, clock), agency_code="A", actor="op", now=clock.now())
    assert await claim(database, clock) == [delivery.webhook_id]
    trail = await queries.delivery_audit(uow=uow(database, clock), agency_code="A")
    assert [item.action for item in trail] == ["endpoint_paused", "endpoint_resumed"]


@pytest.mark.hazard("H25")
async def test_failing_for_too_long_pauses_once_and_tells_the_prison(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    await remember(
        database, clock, {"handover_id": "h", "pack": {"release": {"date": "2026-12-10", "establishment_code": "HHI"}}}
    )
    delivery = await add(database, directory, "A", "A1234BC", T0)
    first = await finish(database, clock, directory, delivery, DeliveryStatus.PENDING, 500)
    assert not first.pause_endpoint, "failing since now: not for too long yet"
    clock.advance(timedelta(hours=2))
    assert (await finish(database, clock, directory, delivery, DeliveryStatus.PENDING, 500)).pause_endpoint
    assert not (await finish(database, clock, directory, delivery, DeliveryStatus.PENDING, 500)).pause_endpoint, "once"
    events = [event for event in await outbox(database) if event["type"].endswith("endpoint.paused")]  # type: ignore[union-attr]
    assert len(events) == 1
    assert events[0]["data"]["owner_contact"] == "a@example.org"  # type: ignore[index]
    assert events[0]["data"]["establishments_told"] == ["HHI"]  # type: ignore[index]
    told = await queries.deliveries_of(uow=uow(database, clock), handover_id="h")
    assert [(d.agency_code, d.event_type) for d, _ in told] == [
        ("A", "handover.pack.issued"),
        ("HCC", "endpoint.paused"),
    ]


@pytest.mark.hazard("H25")
async def test_a_replayed_dead_letter_keeps_its_id_starts_again_and_is_audited(
    database: Database, directory: Directory
) -> None:
    clock = FrozenClock(T0)
    delivery = await add(database, directory, "A", "A1234BC", T0)
    await finish(database, clock, directory, delivery, DeliveryStatus.DEAD_LETTERED, 500)
    [dead] = await queries.dead_letters(uow=uow(database, clock), agency_code="A")
    assert dead.webhook_id == delivery.webhook_id
    assert await replay(database, clock, agency_code="A", since=T0 + timedelta(days=1)) == []
    assert await replay(database, clock, webhook_id=delivery.webhook_id) == [delivery.webhook_id]
    assert await replay(database, clock, webhook_id=delivery.webhook_id) == [], "only dead letters are replayed"
    found = await queries.delivery_by_webhook_id(uow=uow(database, clock), webhook_id=delivery.webhook_id)
    assert found is not None
    again, _ = found
    assert again.status == DeliveryStatus.PENDING and again.rounds == 0 and again.replays == 1
    await finish(database, clock, directory, again, DeliveryStatus.DELIVERED)
    trail = await queries.delivery_audit(uow=uow(database, clock), webhook_id=delivery.webhook_id)
    assert [item.action for item in trail] == ["delivery_replayed", "replay_delivered"]
    assert trail[0].actor == "op"
    kinds = [event["type"] for event in await outbox(database)]
    assert kinds == [EventType.DELIVERY_DEAD_LETTERED.value, EventType.DELIVERY_SUCCEEDED.value]
