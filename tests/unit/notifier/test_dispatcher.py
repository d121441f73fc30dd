"""The dispatcher's decisions over HTTP answers, with ``httpx.MockTransport`` in place of the network and a real
SQLite file: in-process retries only for broken connections, 3xx never followed, Retry-After kept, 410 disables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from standardwebhooks.webhooks import Webhook

from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.adapters.directory_file import load_directory
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.domain.agencies import Directory
from services.notifier.domain.states import EndpointStatus
from services.notifier.entrypoints.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.notifier.usecases import queries
from services.notifier.usecases.new_deliveries import new_delivery

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    path = tmp_path / "directory.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "agencies": [
                    {
                        "code": "A",
                        "kind": "community_mental_health_team",
                        "name": "A",
                        "webhook": {"url": "http://agency.test/hook", "secret_ref": f"literal:{SECRET}"},
                    }
                ]
            }
        )
    )
    return load_directory(path)


async def due(database: Database, directory: Directory, event_id: str) -> Delivery:
    assert directory.by_code("A") is not None
    delivery = new_delivery(
        agency_code="A",
        webhook_type="handover.pack.issued",
        source_event_id=event_id,
        subject="A1234BC",
        handover_id="h",
        data={"x": 1},
        correlation_id="c1",
        now=T0,
    )
    async with database.transaction() as session:
        session.add(delivery)
    return delivery


async def run_round(
    database: Database,
    directory: Directory,
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FrozenClock | None = None,
) -> dict[str, object]:
    clock = clock or FrozenClock(T0)
    delivery = await due(database, directory, "e1")
    settings = NotifierSettings(retry_schedule_seconds=[0, 60, 300])
    dispatcher = Dispatcher(
        new_uow=lambda: NotifierUnitOfWork(database, clock),
        directory=directory,
        settings=settings,
        clock=clock,
        transport=httpx.MockTransport(handler),
    )
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.settle()
    found = await queries.delivery_by_webhook_id(
        uow=NotifierUnitOfWork(database, FrozenClock(T0)), webhook_id=delivery.webhook_id
    )
    assert found is not None
    stored, attempts = found
    return {
        "status": str(stored.status),
        "attempts": [a.status_code for a in attempts],
        "errors": [a.error for a in attempts],
        "next": stored.next_attempt_at,
        "excerpts": [a.response_excerpt for a in attempts],
        "last_error": stored.last_error,
    }


async def test_a_signed_post_with_a_stable_id(database: Database, directory: Directory) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    result = await run_round(database, directory, handler)
    assert result["status"] == "delivered" and result["attempts"] == [204]
    [request] = seen
    assert Webhook(SECRET).verify(request.content, dict(request.headers))["data"] == {"x": 1}
    assert request.headers["x-correlation-id"] == "c1"


async def test_a_broken_connection_is_retried_in_process(database: Database, directory: Directory) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200)

    result = await run_round(database, directory, handler)
    assert result["status"] == "delivered"
    assert result["attempts"] == [None, 200] and result["errors"] == ["ConnectError", None]


async def test_a_timeout_waits_for_the_schedule(database: Database, directory: Directory) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("slow", request=request)

    result = await run_round(database, directory, handler)
    assert calls == 1 and result["status"] == "pending" and result["errors"] == ["ReadTimeout"]
    assert result["next"] is not None and result["next"] >= T0 + timedelta(seconds=48)  # type: ignore[operator]


async def test_a_redirect_is_a_failure_and_is_not_followed(database: Database, directory: Directory) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": "http://elsewhere.test/"})

    result = await run_round(database, directory, handler)
    assert result["status"] == "pending" and seen == ["http://agency.test/hook"]


async def test_503_retry_after_pushes_the_next_attempt(database: Database, directory: Directory) -> None:
    result = await run_round(database, directory, lambda request: httpx.Response(503, headers={"Retry-After": "250"}))
    assert result["next"] >= T0 + timedelta(seconds=250)  # type: ignore[operator]  (the schedule said 60 s)


async def test_a_4xx_fails_at_once_with_an_excerpt_of_the_answer(database: Database, directory: Directory) -> None:
    result = await run_round(database, directory, lambda request: httpx.Response(422, text="missing field x"))
    assert result["status"] == "failed" and result["excerpts"] == ["missing field x"]


async def test_410_disables_the_endpoint(database: Database, directory: Directory) -> None:
    result = await run_round(database, directory, lambda request: httpx.Response(410))
    assert result["status"] == "failed"
    states = await queries.endpoint_states(uow=NotifierUnitOfWork(database, FrozenClock(T0)))
    assert states["A"].status == EndpointStatus.DISABLED


@pytest.mark.hazard("H83")
async def test_after_a_crash_the_restarted_loop_sends_with_new_clients(
    database: Database, directory: Directory
) -> None:
    """The supervisor restarts a crashed dispatcher loop (the database went away, say) on the same object: the
    endpoint clients the crash closed must not be used again, or every later webhook fails until a restart."""
    database_up = True

    def new_uow() -> NotifierUnitOfWork:
        if not database_up:
            raise ConnectionError("the database went away")
        return NotifierUnitOfWork(database, FrozenClock(T0))

    dispatcher = Dispatcher(
        new_uow=new_uow,
        directory=directory,
        settings=NotifierSettings(retry_schedule_seconds=[0, 60]),
        clock=FrozenClock(T0),
        transport=httpx.MockTransport(lambda request: httpx.Response(204)),
    )
    await due(database, directory, "e1")
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.settle()
    database_up = False
    with pytest.raises(ConnectionError):
        await dispatcher.run()  # crashes, closing its clients on the way out
    database_up = True
    second = await due(database, directory, "e2")
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.settle()
    found = await queries.delivery_by_webhook_id(uow=new_uow(), webhook_id=second.webhook_id)
    assert found is not None
    stored, attempts = found
    assert str(stored.status) == "delivered" and [a.status_code for a in attempts] == [204]
