"""With two notifier replicas, each applies only its share of the directory's change events and catches up with
the database every few seconds: a delivery planned by one replica can be claimed by the other before its copy
knows the agency. It must be sent, not refused as 'no longer in the directory' and dead-lettered (a chaos run
with two replicas on PostgreSQL dead-lettered packs to A99001 this way)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.adapters.live_directory import LiveDirectory
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.entrypoints.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.notifier.usecases import queries
from services.notifier.usecases.new_deliveries import new_delivery
from tests.support.polling import eventually_async
from tests.unit.notifier.test_directory_sync import apply_change, change, uows

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def pending_delivery(database: Database) -> Delivery:
    """A pack due now for A99001, as the planning replica stores it."""
    delivery = new_delivery(
        agency_code="A99001",
        webhook_type="handover.pack.issued",
        source_event_id="e1",
        subject="A1234BC",
        handover_id="h",
        data={"x": 1},
        correlation_id="c1",
        now=NOW,
    )
    async with database.transaction() as session:
        session.add(delivery)
    return delivery


@pytest.mark.hazard("H49")
async def test_a_delivery_claimed_by_a_replica_whose_copy_is_behind_is_sent_not_refused(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_1", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    behind = LiveDirectory(agencies=[])  # this replica's copy, read before the agency arrived
    await behind.refresh(uows(database))
    clock = FrozenClock(NOW)
    assert await apply_change(database=database, event=change("A99001", 1), clock=clock)  # the other replica
    delivery = await pending_delivery(database)
    received: list[str] = []

    def agency(request: httpx.Request) -> httpx.Response:
        received.append(request.headers["webhook-id"])
        return httpx.Response(200)

    dispatcher = Dispatcher(
        new_uow=lambda: NotifierUnitOfWork(database, clock),
        directory=behind,
        settings=NotifierSettings(retry_schedule_seconds=[0, 60, 300]),
        clock=clock,
        transport=httpx.MockTransport(agency),
    )
    assert behind.by_code("A99001") is None
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.settle()
    found = await queries.delivery_by_webhook_id(
        uow=NotifierUnitOfWork(database, clock), webhook_id=delivery.webhook_id
    )
    assert found is not None
    stored, _ = found
    assert str(stored.status) == "delivered"
    assert received == [delivery.webhook_id]


@pytest.mark.hazard("H89")
async def test_a_round_in_flight_when_the_clock_jumps_past_its_lease_is_recorded_and_sent_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_1", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    clock = FrozenClock(NOW)
    assert await apply_change(database=database, event=change("A99001", 1), clock=clock)
    directory = LiveDirectory(agencies=[])
    await directory.refresh(uows(database))
    delivery = await pending_delivery(database)
    received: list[str] = []
    answer = asyncio.Event()

    async def slow_agency(request: httpx.Request) -> httpx.Response:
        received.append(request.headers["webhook-id"])
        await answer.wait()  # held until the clock has jumped and the dispatcher has claimed again
        return httpx.Response(200)

    settings = NotifierSettings(retry_schedule_seconds=[0, 60, 300])
    dispatcher = Dispatcher(
        new_uow=lambda: NotifierUnitOfWork(database, clock),
        directory=directory,
        settings=settings,
        clock=clock,
        transport=httpx.MockTransport(slow_agency),
    )
    assert await dispatcher.dispatch_once() == 1
    await eventually_async(lambda: received, timeout=10, what="the round's POST in flight")
    clock.advance(timedelta(seconds=settings.lease_seconds * 3))  # the test clock jumps past the round's lease
    assert await dispatcher.dispatch_once() == 0, "a delivery this sender is sending is not claimed again"
    answer.set()
    await dispatcher.settle()
    uow = NotifierUnitOfWork(database, clock)
    found = await queries.delivery_by_webhook_id(uow=uow, webhook_id=delivery.webhook_id)
    assert found is not None
    stored, attempts = found
    assert str(stored.status) == "delivered", "the round is recorded under the lease it was claimed with"
    assert [attempt.status_code for attempt in attempts] == [200]
    assert received == [delivery.webhook_id]
