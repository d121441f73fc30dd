"""Sending one webhook round to one agency's endpoint: the only place the notifier makes HTTP requests.

Each endpoint has its own transport (its own aiohttp connection pool), a limit of attempts in flight and a circuit
breaker, so one slow or dead endpoint holds only its own deliveries. A round is one POST, retried in-process
(tenacity) only when the connection itself failed.

A request goes straight to the transport as an ``httpx.Request``, not through an ``httpx.AsyncClient``: the client's
redirects, cookies, auth and event hooks are nothing a webhook uses, and with its instrumentation they cost about
as much CPU again as the request itself (``tracing.sending`` makes the client span and its ``traceparent``)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.common.clock import Clock
from services.common.tracing import sending
from services.notifier.adapters.aiohttp_transport import AiohttpTransport
from services.notifier.adapters.signing import signed_headers, signing_secrets
from services.notifier.adapters.tables import Delivery
from services.notifier.domain.agencies import Agency
from services.notifier.domain.breaker import CircuitBreaker
from services.notifier.domain.policy import parse_retry_after
from services.notifier.domain.verdict import AttemptResult
from services.notifier.settings import NotifierSettings

EXCERPT = 300
USER_AGENT = "ttg-notifier"
IN_PROCESS_TRIES = 3
# Failures of the connection itself, worth a quick second try in-process. A timeout is not among them: an
# endpoint that did not answer in time gets its next try from the persisted schedule, not at once.
TRANSIENT = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)

Attempts = list[tuple[datetime, AttemptResult]]


def new_transport(settings: NotifierSettings) -> httpx.AsyncBaseTransport:
    """One endpoint's connection pool: ``per_endpoint_concurrency`` connections; redirects are never followed."""
    return AiohttpTransport(max_connections=settings.per_endpoint_concurrency)


class EndpointClient:
    def __init__(self, settings: NotifierSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """``transport`` replaces the network in unit tests (``httpx.MockTransport``); None in service."""
        self.transport = transport or new_transport(settings)
        self.attempt_timeout = settings.attempt_timeout_seconds
        self.concurrency = settings.per_endpoint_concurrency
        self.in_flight = 0
        self.breaker = CircuitBreaker(
            threshold=settings.breaker_failure_threshold,
            cooldown=timedelta(seconds=settings.breaker_cooldown_seconds),
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    def room(self, now: datetime) -> int:
        free = max(0, self.concurrency - self.in_flight)
        allowance = self.breaker.allowance(now)
        return free if allowance is None else min(free, allowance)

    async def send(
        self, agency: Agency, delivery: Delivery, *, clock: Clock, wall: Clock
    ) -> tuple[Attempts, float | None]:
        """One round's attempts and the ``Retry-After`` of the last answer. ``clock`` stamps the attempts;
        ``wall`` (real time) signs them, as receivers check it against their own clocks."""
        attempts: Attempts = []
        retry_after: float | None = None
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(TRANSIENT),
                stop=stop_after_attempt(IN_PROCESS_TRIES),
                wait=wait_exponential(multiplier=0.2, max=2),
                reraise=True,
            ):
                with attempt:
                    at = clock.now()
                    started = time.perf_counter()
                    try:
                        response = await self._attempt(agency, delivery, signed_at=wall.now(), secrets_at=at)
                    except httpx.TransportError as error:
                        attempts.append((at, AttemptResult(None, _since(started), type(error).__name__, None)))
                        raise
                    excerpt = response.text[:EXCERPT] or None
                    attempts.append((at, AttemptResult(response.status_code, _since(started), None, excerpt)))
                    retry_after = parse_retry_after(response.headers.get("retry-after"), wall.now())
        except httpx.TransportError:
            pass
        return attempts, retry_after

    async def _attempt(
        self, agency: Agency, delivery: Delivery, *, signed_at: datetime, secrets_at: datetime
    ) -> httpx.Response:
        """One POST within a hard time limit: the transport's timeouts bound each connect and read, not an
        answer that trickles in; past the limit the attempt is a ``ReadTimeout`` like a silent endpoint's."""
        try:
            async with asyncio.timeout(self.attempt_timeout):
                return await self._post(agency, delivery, signed_at=signed_at, secrets_at=secrets_at)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no whole answer within {self.attempt_timeout:g} s") from None

    async def _post(
        self, agency: Agency, delivery: Delivery, *, signed_at: datetime, secrets_at: datetime
    ) -> httpx.Response:
        headers = signed_headers(
            secret=signing_secrets(agency.webhook, secrets_at),
            webhook_id=delivery.webhook_id,
            at=signed_at,
            body=delivery.payload,
        )
        headers["content-type"] = "application/json"
        headers["user-agent"] = USER_AGENT
        if delivery.correlation_id:
            headers["x-correlation-id"] = delivery.correlation_id
        limit = self.attempt_timeout
        request = httpx.Request(
            "POST",
            str(agency.webhook.url),
            content=delivery.payload.encode(),
            headers=headers,
            extensions={"timeout": {"connect": limit, "read": limit, "write": limit, "pool": limit}},
        )
        with sending(request) as span:
            response = await self.transport.handle_async_request(request)
            span.set_attribute("http.response.status_code", response.status_code)
        await response.aread()
        return response


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
