"""Sends due deliveries, keeping every endpoint apart from the others.

The dispatcher claims for an endpoint only as many deliveries as it has room for (free slots, and none while
its circuit is open or it is paused), so a slow or dead endpoint holds only its own deliveries: the others are
claimed and sent in the same rounds as if it were not there. Each round is sent by the endpoint's client and
recorded by :func:`services.notifier.usecases.dispatch_round.record_round` in one unit of work; rounds that finish
close together are recorded in one transaction, a savepoint each (:mod:`.round_recorder`).

The database, not a timer in memory, says what is due (``next_attempt_at``); a claimed delivery is leased, so
replicas never send the same one at once, and a crashed sender's lease simply runs out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import structlog

from services.common.clock import Clock, SystemClock
from services.common.metrics import DELIVERIES, WEBHOOK_DEAD_LETTERS
from services.common.tracing import resumed
from services.notifier.adapters.live_directory import LiveDirectory
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.webhook_client import Attempts, EndpointClient
from services.notifier.domain.agencies import Agency, Directory
from services.notifier.domain.states import DeliveryStatus, EndpointEffect
from services.notifier.domain.verdict import EndpointView, RetryPolicy, RoundVerdict, refusal
from services.notifier.entrypoints.round_recorder import BatchScope, RoundRecorder
from services.notifier.settings import NotifierSettings
from services.notifier.usecases.dispatch_round import LeaseLost, claim_round, record_round
from services.notifier.usecases.ports import UowFactory

log = structlog.get_logger(__name__)

# How a round ended, as the deliveries metric names it: a pending delivery after a round is a retry scheduled.
OUTCOME_LABELS = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "retry_scheduled",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.DEAD_LETTERED: "dead_lettered",
}


class Dispatcher:
    def __init__(
        self,
        *,
        new_uow: UowFactory,
        directory: Directory,
        settings: NotifierSettings,
        clock: Clock,
        on_final: Callable[[], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        batch: BatchScope | None = None,
    ) -> None:
        """``transport`` replaces the network in unit tests (``httpx.MockTransport``); None in service.
        ``batch`` (``Database.batch``) lets rounds that finish together be recorded in one transaction
        (:mod:`services.notifier.entrypoints.round_recorder`); None records each round alone."""
        self._recorder: RoundRecorder[RoundVerdict] = RoundRecorder(batch)
        self._transport = transport
        self._new_uow = new_uow
        self._directory = directory
        self._settings = settings
        self._clock = clock
        self._wall = SystemClock()  # signatures carry real time: receivers check it against their own clocks
        self._policy = RetryPolicy(
            schedule=settings.retry_schedule_seconds,
            pause_after=timedelta(seconds=settings.pause_after_failing_seconds),
        )
        self._endpoints: dict[str, EndpointClient] = {}
        self._states: dict[str, EndpointView] = {}
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
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
            await self._recorder.close()
            for endpoint in self._endpoints.values():
                await endpoint.aclose()
            # The supervisor restarts a crashed loop on this same object: it must open new clients, not reuse
            # the closed ones (every webhook would fail until the process restarted).
            self._endpoints.clear()

    @property
    def stopping(self) -> bool:
        """True once a drain has begun: no new round is claimed from then on."""
        return self._stopping

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
        now = self._clock.now()
        held = {agency.code for agency in self._directory.agencies if agency.webhook.paused}
        held |= {code for code, endpoint in self._endpoints.items() if endpoint.room(now) == 0}
        self._states, claimed = await claim_round(
            uow=self._new_uow(),
            now=now,
            limit=self._settings.dispatch_batch_size,
            lease_seconds=self._settings.lease_seconds,
            held=held,
            capacity=self._rooms(now),
            sending=set(self._in_flight),
        )
        if any(self._directory.by_code(delivery.agency_code) is None for delivery in claimed):
            await self._catch_up_directory()
        started = 0
        for delivery in claimed:
            assert delivery.seq is not None
            if delivery.seq in self._in_flight:
                continue
            self._in_flight.add(delivery.seq)
            agency = self._directory.by_code(delivery.agency_code)
            endpoint = self._endpoint(agency) if agency else None
            if endpoint is not None:
                endpoint.in_flight += 1
                endpoint.breaker.started(now)
            task = asyncio.create_task(self._deliver(delivery, agency, endpoint), context=resumed(delivery.traceparent))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _catch_up_directory(self) -> None:
        """Re-read the directory before a claimed delivery is refused for an agency this copy does not know.

        With replicas, the directory's change events are shared out between them (one consumer group), and each
        copy catches up with the database only every few seconds: a delivery planned by one replica (which waited
        until its agency was in the database) can be claimed by another whose copy is older. Refusing it then
        would dead-letter a pack to a GP or a crisis team that exists; the database is the directory."""
        if isinstance(self._directory, LiveDirectory):
            await self._directory.refresh(self._new_uow)

    def _rooms(self, now: datetime) -> dict[str, int]:
        """How many more deliveries each agency of the directory may have in flight (an endpoint not used yet
        has all its slots and a closed breaker)."""
        full = self._settings.per_endpoint_concurrency
        return {
            agency.code: self._endpoints[agency.code].room(now) if agency.code in self._endpoints else full
            for agency in self._directory.agencies
        }

    def _endpoint(self, agency: Agency) -> EndpointClient:
        if agency.code not in self._endpoints:
            self._endpoints[agency.code] = EndpointClient(self._settings, self._transport)
        return self._endpoints[agency.code]

    async def _deliver(self, delivery: Delivery, agency: Agency | None, endpoint: EndpointClient | None) -> None:
        structlog.contextvars.bind_contextvars(
            webhook_id=delivery.webhook_id, correlation_id=delivery.correlation_id, agency=delivery.agency_code
        )
        try:
            refused = refusal(self._states.get(delivery.agency_code), agency is not None)
            attempts: Attempts = []
            retry_after: float | None = None
            if refused is None and agency is not None and endpoint is not None:
                attempts, retry_after = await endpoint.send(agency, delivery, clock=self._clock, wall=self._wall)
            verdict = await self._recorder.record(
                lambda: record_round(
                    uow=self._new_uow(),
                    delivery=delivery,
                    agency=agency,
                    directory=self._directory,
                    attempts=attempts,
                    retry_after=retry_after,
                    policy=self._policy,
                    now=self._clock.now(),
                    source=self._settings.source,
                    refused=refused,
                ),
                order=delivery.agency_code,
                webhook_id=delivery.webhook_id,
                correlation_id=delivery.correlation_id,
                agency=delivery.agency_code,
            )
            self._after(delivery, verdict, endpoint)
        except LeaseLost:
            # Recorded already (its batch committed though the COMMIT reported an error), or its lease ran out and
            # another replica has it: the database holds that result, and this round wrote nothing over it.
            log.warning("delivery.lease_lost")
        except Exception:
            log.exception("delivery.round_failed")
        finally:
            if endpoint is not None:
                endpoint.in_flight -= 1
            self._in_flight.discard(delivery.seq or 0)
            structlog.contextvars.unbind_contextvars("webhook_id", "correlation_id", "agency")
            self.wake()

    def _after(self, delivery: Delivery, verdict: RoundVerdict, endpoint: EndpointClient | None) -> None:
        """The round's effects in this process: the endpoint's breaker, the metrics, the log, the relay."""
        if endpoint is not None and verdict.endpoint == EndpointEffect.SUCCESS:
            endpoint.breaker.succeeded()
        elif endpoint is not None and verdict.endpoint is not None:
            endpoint.breaker.failed(self._clock.now())
        DELIVERIES.labels(OUTCOME_LABELS[verdict.status], delivery.agency_code).inc()
        if verdict.status == DeliveryStatus.DEAD_LETTERED:
            WEBHOOK_DEAD_LETTERS.labels(delivery.agency_code).inc()
        log.info("delivery.round_recorded", status=verdict.status.value, reason=verdict.reason)
        if (verdict.finished or verdict.pause_endpoint) and self._on_final:
            self._on_final()
