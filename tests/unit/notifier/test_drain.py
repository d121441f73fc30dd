"""A stopping notifier lets webhooks in flight be answered and recorded, and claims nothing new meanwhile: a real
SQLite file, ``httpx.MockTransport`` in place of the network, answers released by the test."""

from __future__ import annotations

import asyncio

import httpx

from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.domain.agencies import Directory
from services.notifier.domain.states import DeliveryStatus
from services.notifier.entrypoints.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.notifier.usecases import queries
from tests.support.polling import eventually_async
from tests.unit.notifier.test_dispatcher import T0, directory, due  # noqa: F401 - the fixture is used


async def status_of(database: Database, delivery: Delivery) -> DeliveryStatus:
    found = await queries.delivery_by_webhook_id(
        uow=NotifierUnitOfWork(database, FrozenClock(T0)), webhook_id=delivery.webhook_id
    )
    assert found is not None
    return found[0].status


def held_transport(answer: asyncio.Event, seen: list[str]) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["webhook-id"])
        await answer.wait()
        return httpx.Response(204)

    return httpx.MockTransport(handler)


def held_dispatcher(database: Database, agencies: Directory, answer: asyncio.Event, seen: list[str]) -> Dispatcher:
    """A dispatcher whose webhooks are answered only when ``answer`` is set."""
    return Dispatcher(
        new_uow=lambda: NotifierUnitOfWork(database, FrozenClock(T0)),
        directory=agencies,
        settings=NotifierSettings(),
        clock=FrozenClock(T0),
        transport=held_transport(answer, seen),
    )


async def test_a_stop_waits_for_the_webhook_in_flight_and_claims_no_more(
    database: Database,
    directory: Directory,  # noqa: F811
) -> None:
    first = await due(database, directory, "e1")
    answer, seen = asyncio.Event(), []
    dispatcher = held_dispatcher(database, directory, answer, seen)
    assert await dispatcher.dispatch_once() == 1
    second = await due(database, directory, "e2")

    draining = asyncio.create_task(dispatcher.drain(timeout=30))
    await eventually_async(lambda: dispatcher.stopping, timeout=10, what="the drain to begin")
    assert not draining.done()  # the webhook in flight has not been answered yet
    assert await dispatcher.dispatch_once() == 0  # stopping: the second delivery is not claimed
    answer.set()
    assert await asyncio.wait_for(draining, 10) == 0
    assert await status_of(database, first) == DeliveryStatus.DELIVERED
    assert await status_of(database, second) == DeliveryStatus.PENDING
    assert seen == [first.webhook_id]


async def test_a_drain_gives_up_after_its_timeout_and_says_how_many_were_left(
    database: Database,
    directory: Directory,  # noqa: F811
) -> None:
    delivery = await due(database, directory, "e1")
    answer, seen = asyncio.Event(), []
    dispatcher = held_dispatcher(database, directory, answer, seen)
    assert await dispatcher.dispatch_once() == 1
    assert await dispatcher.drain(timeout=0.2) == 1
    assert await status_of(database, delivery) == DeliveryStatus.PENDING  # leased: sent again when it ends
    answer.set()
    await dispatcher.settle()
