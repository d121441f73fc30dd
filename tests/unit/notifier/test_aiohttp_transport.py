"""The webhook client over aiohttp against real local servers: a signed POST, a redirect answered and not followed,
and aiohttp's failures recorded under the httpx names the schedule and operators know (a refused connection is
``ConnectError`` and retried in-process; a dropped connection ``RemoteProtocolError``; an answer past the hard
limit ``ReadTimeout``, not retried in-process)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from services.common.clock import FrozenClock
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.webhook_client import EndpointClient
from services.notifier.domain.agencies import Agency
from services.notifier.settings import NotifierSettings
from services.notifier.usecases.new_deliveries import new_delivery

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def agency_at(port: int) -> Agency:
    return Agency.model_validate(
        {
            "code": "A",
            "kind": "community_mental_health_team",
            "name": "A",
            "webhook": {"url": f"http://127.0.0.1:{port}/hook", "secret_ref": f"literal:{SECRET}"},
        }
    )


def a_delivery() -> Delivery:
    return new_delivery(
        agency_code="A",
        webhook_type="handover.pack.issued",
        source_event_id="e1",
        subject="A1234BC",
        handover_id="h",
        data={"x": 1},
        correlation_id="c1",
        now=T0,
    )


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return int(runner.addresses[0][1])

    yield start
    for runner in runners:
        await runner.cleanup()


async def send(port: int, *, hard_limit: float | None = None) -> tuple[list[tuple[int | None, str | None]], object]:
    endpoint = EndpointClient(NotifierSettings())
    if hard_limit is not None:
        endpoint.attempt_timeout = hard_limit  # the settings allow 15 s at least; a test need not wait that long
    try:
        attempts, retry_after = await endpoint.send(
            agency_at(port), a_delivery(), clock=FrozenClock(T0), wall=FrozenClock(datetime.now(UTC))
        )
    finally:
        await endpoint.aclose()
    return [(result.status_code, result.error) for _, result in attempts], retry_after


async def test_a_signed_post_arrives_whole_and_its_answer_is_read(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((await request.read(), {k.lower(): v for k, v in request.headers.items()}))
        return web.Response(status=503, text="busy, come back", headers={"Retry-After": "120"})

    attempts, retry_after = await send(await serve(handler))
    assert attempts == [(503, None)] and retry_after == 120
    [(body, headers)] = received
    assert Webhook(SECRET).verify(body, headers)["data"] == {"x": 1}
    assert headers["x-correlation-id"] == "c1" and headers["content-type"] == "application/json"


async def test_a_redirect_is_answered_as_it_is_and_not_followed(serve: Callable[[Handler], Awaitable[int]]) -> None:
    paths: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        paths.append(request.path)
        raise web.HTTPFound("/elsewhere")

    attempts, _ = await send(await serve(handler))
    assert attempts == [(302, None)] and paths == ["/hook"]


async def test_a_refused_connection_is_a_connect_error_retried_in_process() -> None:
    with socket.socket() as probe:  # a port nobody listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts, _ = await send(port)
    assert attempts == [(None, "ConnectError")] * 3


async def test_a_connection_dropped_without_an_answer_is_a_remote_protocol_error(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert request.transport is not None
            request.transport.close()  # hang up before answering
        return web.Response(status=204)

    attempts, _ = await send(await serve(handler))
    assert attempts == [(None, "RemoteProtocolError"), (204, None)]


async def test_an_answer_past_the_hard_limit_is_a_read_timeout_left_to_the_schedule(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    never = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await never.wait()  # the endpoint never answers
        return web.Response(status=204)

    try:
        attempts, _ = await send(await serve(handler), hard_limit=0.2)
    finally:
        never.set()  # let the server stop
    assert attempts == [(None, "ReadTimeout")]
