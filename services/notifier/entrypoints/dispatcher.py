"""Sends due deliveries, keeping every endpoint apart from the others.

Isolation: each endpoint has its own HTTP client (its own connection pool), a limit of attempts in flight and a
circuit breaker. The dispatcher claims for an endpoint only as many deliveries as it has free slots, and none
while its circuit is open or it is paused, so a slow or dead endpoint holds only its own deliveries: the others
are claimed and sent in the same rounds as if it were not there.

The database, not a timer in memory, says what is due (``next_attempt_at``); a claimed delivery is leased, so
replicas never send the same one at once, and a crashed sender's lease simply runs out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.common.clock import Clock, SystemClock
from services.common.db import Database
from services.common.metrics import DELIVERIES, WEBHOOK_DEAD_LETTERS
from services.notifier.adapters.signing import signed_headers
from services.notifier.adapters.tables import Delivery, DeliveryStatus, EndpointState, EndpointStatus
from services.notifier.domain.agencies import Agency, Directory
from services.notifier.domain.breaker import CircuitBreaker
from services.notifier.domain.policy import Verdict, judge, next_delay, parse_retry_after
from services.notifier.settings import NotifierSettings
from services.notifier.usecases import deliveries as service
from services.notifier.usecases import endpoint_state as endpoints
from services.notifier.usecases.endpoint_state import EndpointEffect

log = structlog.get_logger(__name__)

EXCERPT = 300
IN_PROCESS_TRIES = 3
# Failures of the connection itself, worth a quick second try in-process. A timeout is not among them: an
# endpoint that did not answer in time gets its next try from the persisted schedule, not at once.
TRANSIENT = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)

Attempts = list[tuple[datetime, service.AttemptResult]]
# How a round ended, as the deliveries metric names it: a pending delivery after a round is a retry scheduled.
OUTCOME_LABELS = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "retry_scheduled",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.DEAD_LETTERED: "dead_lettered",
}


class _Endpoint:
    def __init__(self, settings: NotifierSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.attempt_timeout_seconds),
            limits=httpx.Limits(max_connections=settings.per_endpoint_concurrency),
            follow_redirects=False,
            transport=transport,
        )
        self.concurrency = settings.per_endpoint_concurrency
        self.in_flight = 0
        self.breaker = CircuitBreaker(
            threshold=settings.breaker_failure_threshold,
            cooldown=timedelta(seconds=settings.breaker_cooldown_seconds),
        )

    def room(self, now: datetime) -> int:
        free = max(0, self.concurrency - self.in_flight)
        allowance = self.breaker.allowance(now)
        return free if allowance is None else min(free, allowance)


class Dispatcher:
    def __init__(
        self,
        *,
        database: Database,
        directory: Directory,
        settings: NotifierSettings,
        clock: Clock,
        on_final: Callable[[], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport`` replaces the network in unit tests (``httpx.MockTransport``); None in service."""
        self._transport = transport
        self._database = database
        self._directory = directory
        self._settings = settings
        self._clock = clock
        self._wall = SystemClock()  # signatures carry real time: receivers check it against their own clocks
        self._endpoints: dict[str, _Endpoint] = {}
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._states: dict[str, EndpointState] = {}
        self._wakeup = asyncio.Event()
        self._on_final = on_final
        self._stopping = False

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        try:
            while True:
                await self.dispatch_once()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that arrives as
                # the event is set, and the loop would outlive the process's stop.
                try:
                    async with asyncio.timeout(self._settings.dispatch_idle_seconds):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass
                self._wakeup.clear()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for endpoint in self._endpoints.values():
                await endpoint.client.aclose()

    async def drain(self, timeout: float) -> int:
        """Stop claiming, and wait up to ``timeout`` seconds for the rounds in flight to be answered and
        recorded; returns how many were still in flight (they are cancelled with the process). A round cut
        short leaves its delivery leased: another replica, or this one after a restart, sends it again under
        the same webhook-id once the lease ends, so a stop neither loses nor doubles a webhook the receiver
        de-duplicates; draining spares the receiver that repeat and the person the delay."""
        self._stopping = True
        pending = set(self._tasks)
        if pending:
            log.info("dispatcher.draining", in_flight=len(pending))
            _, pending = await asyncio.wait(pending, timeout=timeout)
        if pending:
            log.warning("dispatcher.drain_incomplete", in_flight=len(pending))
        return len(pending)

    async def settle(self) -> None:
        """Wait for the rounds in flight to finish (tests, and a clean stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def dispatch_once(self) -> int:
        """Claim what is due (within each endpoint's room) and start sending it; returns how many started
        (none once the dispatcher is draining for a stop)."""
        if self._stopping:
            return 0
        self._states = await endpoints.states(database=self._database)
        now = self._clock.now()
        held = {agency.code for agency in self._directory.agencies if agency.webhook.paused}
        held |= {code for code, endpoint in self._endpoints.items() if endpoint.room(now) == 0}
        claimed = await service.claim_due(
            database=self._database,
            clock=self._clock,
            limit=self._settings.dispatch_batch_size,
            lease_seconds=self._settings.lease_seconds,
            held=held,
            capacity=lambda code: self._room(code, now),
        )
        started = 0
        for delivery in claimed:
            if delivery.seq in self._in_flight:
                continue
            self._in_flight.add(delivery.seq)  # type: ignore[arg-type]
            agency = self._directory.by_code(delivery.agency_code)
            endpoint = self._endpoint(agency) if agency else None
            if endpoint is not None:
                endpoint.in_flight += 1
                endpoint.breaker.started(now)
            task = asyncio.create_task(self._deliver(delivery, agency, endpoint))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    def _room(self, code: str, now: datetime) -> int | None:
        agency = self._directory.by_code(code)
        return None if agency is None else self._endpoint(agency).room(now)

    def _endpoint(self, agency: Agency) -> _Endpoint:
        if agency.code not in self._endpoints:
            self._endpoints[agency.code] = _Endpoint(self._settings, self._transport)
        return self._endpoints[agency.code]

    async def _deliver(self, delivery: Delivery, agency: Agency | None, endpoint: _Endpoint | None) -> None:
        structlog.contextvars.bind_contextvars(
            webhook_id=delivery.webhook_id, correlation_id=delivery.correlation_id, agency=delivery.agency_code
        )
        try:
            if agency is None or endpoint is None:
                await self._finish(delivery, [], DeliveryStatus.FAILED, None, "agency no longer in the directory")
                return
            state = self._states.get(agency.code)
            if state is not None and state.status == EndpointStatus.DISABLED:
                await self._finish(
                    delivery, [], DeliveryStatus.FAILED, None, f"endpoint disabled: {state.reason or 'by an operator'}"
                )
                return
            attempts, retry_after = await self._attempt(endpoint, agency, delivery)
            await self._conclude(delivery, agency, endpoint, attempts, retry_after)
        except Exception:
            log.exception("delivery.round_failed")
        finally:
            if endpoint is not None:
                endpoint.in_flight -= 1
            self._in_flight.discard(delivery.seq)  # type: ignore[arg-type]
            structlog.contextvars.unbind_contextvars("webhook_id", "correlation_id", "agency")
            self.wake()

    async def _attempt(self, endpoint: _Endpoint, agency: Agency, delivery: Delivery) -> tuple[Attempts, float | None]:
        """One round: a POST, retried in-process (tenacity) only when the connection itself failed."""
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
                    at = self._clock.now()
                    headers = signed_headers(
                        secret=agency.webhook.signing_secrets(at),
                        webhook_id=delivery.webhook_id,
                        at=self._wall.now(),
                        body=delivery.payload,
                    )
                    headers["content-type"] = "application/json"
                    if delivery.correlation_id:
                        headers["x-correlation-id"] = delivery.correlation_id
                    started = time.perf_counter()
                    try:
                        response = await endpoint.client.post(
                            str(agency.webhook.url), content=delivery.payload.encode(), headers=headers
                        )
                    except httpx.TransportError as error:
                        attempts.append(
                            (
                                at,
                                service.AttemptResult(
                                    None, int((time.perf_counter() - started) * 1000), type(error).__name__, None
                                ),
                            )
                        )
                        raise
                    attempts.append(
                        (
                            at,
                            service.AttemptResult(
                                response.status_code,
                                int((time.perf_counter() - started) * 1000),
                                None,
                                response.text[:EXCERPT] or None,
                            ),
                        )
                    )
                    retry_after = parse_retry_after(response.headers.get("retry-after"), self._wall.now())
        except httpx.TransportError:
            pass
        return attempts, retry_after

    async def _conclude(
        self, delivery: Delivery, agency: Agency, endpoint: _Endpoint, attempts: Attempts, retry_after: float | None
    ) -> None:
        last = attempts[-1][1]
        outcome = judge(last.status_code, retry_after)
        now = self._clock.now()
        if outcome.verdict == Verdict.DELIVERED:
            endpoint.breaker.succeeded()
            await self._finish(
                delivery,
                attempts,
                DeliveryStatus.DELIVERED,
                None,
                None,
                service.RoundEffects(EndpointEffect.SUCCESS, agency.kind.value),
            )
            log.info("delivery.delivered", attempts=delivery.attempt_count + len(attempts))
            return
        reason = last.error or f"HTTP {last.status_code}"
        if outcome.verdict == Verdict.ENDPOINT_GONE:
            endpoint.breaker.failed(now)
            await self._finish(
                delivery,
                attempts,
                DeliveryStatus.FAILED,
                None,
                f"endpoint gone: {reason}",
                service.RoundEffects(EndpointEffect.GONE),
            )
            log.warning("delivery.endpoint_gone")
            return
        if outcome.verdict == Verdict.PERMANENT_FAILURE:
            # The endpoint answered: it is alive, so neither the breaker nor the pause clock moves.
            await self._finish(delivery, attempts, DeliveryStatus.FAILED, None, reason)
            log.warning("delivery.failed_permanently", reason=reason)
            return
        endpoint.breaker.failed(now)
        delay = next_delay(delivery.rounds + 1, self._settings.retry_schedule_seconds, outcome.retry_after_seconds)
        effects = service.RoundEffects(EndpointEffect.FAILURE)
        if delay is None:
            await self._finish(
                delivery, attempts, DeliveryStatus.DEAD_LETTERED, None, f"schedule exhausted: {reason}", effects
            )
            log.warning("delivery.dead_lettered", reason=reason)
        else:
            due = now + timedelta(seconds=delay)
            await self._finish(delivery, attempts, DeliveryStatus.PENDING, due, reason, effects)
            log.info("delivery.retry_scheduled", reason=reason, in_seconds=round(delay, 1))
        if (
            await endpoints.pause_if_failing_too_long(
                database=self._database,
                directory=self._directory,
                clock=self._clock,
                agency_code=agency.code,
                after_seconds=self._settings.pause_after_failing_seconds,
                source=self._settings.source,
            )
            and self._on_final
        ):
            self._on_final()

    async def _finish(
        self,
        delivery: Delivery,
        attempts: Attempts,
        status: DeliveryStatus,
        next_attempt_at: datetime | None,
        reason: str | None,
        effects: service.RoundEffects | None = None,
    ) -> None:
        await service.record_attempt(
            database=self._database,
            delivery=delivery,
            attempts=attempts,
            final_status=status,
            next_attempt_at=next_attempt_at,
            reason=reason,
            clock=self._clock,
            source=self._settings.source,
            effects=effects,
        )
        DELIVERIES.labels(OUTCOME_LABELS[status], delivery.agency_code).inc()
        if status == DeliveryStatus.DEAD_LETTERED:
            WEBHOOK_DEAD_LETTERS.labels(delivery.agency_code).inc()
        if status != DeliveryStatus.PENDING and self._on_final:
            self._on_final()
