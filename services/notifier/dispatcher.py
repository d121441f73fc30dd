"""Sends due deliveries. Each endpoint has its own HTTP client and concurrency limit, so one slow or dead
endpoint never holds up the others; the database, not a timer in memory, says what is due."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.common.clock import Clock
from services.common.db import Database
from services.notifier import service
from services.notifier.directory import Agency, Directory
from services.notifier.models import Delivery, DeliveryStatus
from services.notifier.policy import Verdict, judge, next_delay, parse_retry_after
from services.notifier.settings import NotifierSettings
from services.notifier.signing import signed_headers

log = structlog.get_logger(__name__)

EXCERPT = 300
IN_PROCESS_TRIES = 3


class _Endpoint:
    def __init__(self, agency: Agency, settings: NotifierSettings) -> None:
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.attempt_timeout_seconds),
            limits=httpx.Limits(max_connections=settings.per_endpoint_concurrency),
            follow_redirects=False,
        )
        self.slots = asyncio.Semaphore(settings.per_endpoint_concurrency)


class Dispatcher:
    def __init__(
        self, *, database: Database, directory: Directory, settings: NotifierSettings, clock: Clock,
        on_final: Callable[[], None] | None = None,
    ) -> None:
        self._database = database
        self._directory = directory
        self._settings = settings
        self._clock = clock
        self._endpoints: dict[str, _Endpoint] = {}
        self._in_flight: set[int] = set()
        self._wakeup = asyncio.Event()
        self._on_final = on_final

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        try:
            while True:
                claimed = await service.claim_due(
                    database=self._database,
                    clock=self._clock,
                    limit=self._settings.dispatch_batch_size,
                    lease_seconds=self._settings.lease_seconds,
                )
                for delivery in claimed:
                    if delivery.seq in self._in_flight:
                        continue
                    self._in_flight.add(delivery.seq)  # type: ignore[arg-type]
                    asyncio.create_task(self._deliver(delivery))
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=0.5)
                except TimeoutError:
                    pass
                self._wakeup.clear()
        finally:
            for endpoint in self._endpoints.values():
                await endpoint.client.aclose()

    def _endpoint(self, agency: Agency) -> _Endpoint:
        if agency.code not in self._endpoints:
            self._endpoints[agency.code] = _Endpoint(agency, self._settings)
        return self._endpoints[agency.code]

    async def _deliver(self, delivery: Delivery) -> None:
        structlog.contextvars.bind_contextvars(
            webhook_id=delivery.webhook_id, correlation_id=delivery.correlation_id, agency=delivery.agency_code
        )
        try:
            agency = self._directory.by_code(delivery.agency_code)
            if agency is None:
                await self._finish(delivery, [], DeliveryStatus.FAILED, None, "agency no longer in the directory")
                return
            endpoint = self._endpoint(agency)
            async with endpoint.slots:
                attempts, retry_after = await self._attempt(endpoint, agency, delivery)
            await self._conclude(delivery, attempts, retry_after)
        except Exception:
            log.exception("delivery.round_failed")
        finally:
            self._in_flight.discard(delivery.seq)  # type: ignore[arg-type]
            structlog.contextvars.unbind_contextvars("webhook_id", "correlation_id", "agency")

    async def _attempt(
        self, endpoint: _Endpoint, agency: Agency, delivery: Delivery
    ) -> tuple[list[tuple[datetime, service.AttemptResult]], float | None]:
        """One round: a POST, retried in-process (tenacity) only when the connection itself failed."""
        attempts: list[tuple[datetime, service.AttemptResult]] = []
        retry_after: float | None = None
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(httpx.TransportError),
                stop=stop_after_attempt(IN_PROCESS_TRIES),
                wait=wait_exponential(multiplier=0.2, max=2),
                reraise=True,
            ):
                with attempt:
                    at = self._clock.now()
                    headers = signed_headers(
                        secret=agency.webhook.secret(), webhook_id=delivery.webhook_id, at=at, body=delivery.payload
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
                        attempts.append((at, service.AttemptResult(
                            None, int((time.perf_counter() - started) * 1000), type(error).__name__, None)))
                        raise
                    attempts.append((at, service.AttemptResult(
                        response.status_code,
                        int((time.perf_counter() - started) * 1000),
                        None,
                        response.text[:EXCERPT] or None,
                    )))
                    retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        except httpx.TransportError:
            pass
        return attempts, retry_after

    async def _conclude(
        self, delivery: Delivery, attempts: list[tuple[datetime, service.AttemptResult]], retry_after: float | None
    ) -> None:
        last = attempts[-1][1]
        outcome = judge(last.status_code, retry_after)
        if outcome.verdict == Verdict.DELIVERED:
            await self._finish(delivery, attempts, DeliveryStatus.DELIVERED, None, None)
            log.info("delivery.delivered", attempts=delivery.attempt_count + len(attempts))
            return
        reason = last.error or f"HTTP {last.status_code}"
        if outcome.verdict in (Verdict.PERMANENT_FAILURE, Verdict.ENDPOINT_GONE):
            await self._finish(delivery, attempts, DeliveryStatus.FAILED, None, reason)
            log.warning("delivery.failed_permanently", reason=reason)
            return
        rounds = delivery.rounds + 1
        delay = next_delay(rounds, self._settings.retry_schedule_seconds, outcome.retry_after_seconds)
        if delay is None:
            await self._finish(delivery, attempts, DeliveryStatus.FAILED, None, f"schedule exhausted: {reason}")
            log.warning("delivery.schedule_exhausted", reason=reason)
            return
        due = self._clock.now() + timedelta(seconds=delay)
        await self._finish(delivery, attempts, DeliveryStatus.PENDING, due, reason)
        log.info("delivery.retry_scheduled", reason=reason, in_seconds=round(delay, 1))

    async def _finish(
        self,
        delivery: Delivery,
        attempts: list[tuple[datetime, service.AttemptResult]],
        status: DeliveryStatus,
        next_attempt_at: datetime | None,
        reason: str | None,
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
        )
        if status != DeliveryStatus.PENDING and self._on_final:
            self._on_final()
        self.wake()
