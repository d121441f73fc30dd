"""The notifier's unit of work in memory: the common fakes (outbox, inbox, audit) with dict- and list-backed
repositories, for use-case tests that run in milliseconds."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from services.notifier.adapters.tables import (
    Delivery,
    DeliveryAttempt,
    DeliveryAudit,
    EndpointState,
    HandoverFact,
)
from services.notifier.domain.states import HOLDING, REPLAYABLE, DeliveryStatus, EndpointStatus
from services.notifier.domain.verdict import AttemptResult, EndpointView
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.notifier.usecases.fake_referrals import (
    FakeDirectoryEntries,
    FakeEscalations,
    FakeHandoverFacts,
    FakeWatches,
)


class FakeDeliveries:
    def __init__(self) -> None:
        self.rows: list[Delivery] = []
        self.attempts: list[DeliveryAttempt] = []
        self.facts: dict[str, HandoverFact] = {}  # shared with the fake handover facts
        self._seq = itertools.count(1)

    def add(self, delivery: Delivery) -> None:
        delivery.seq = delivery.seq or next(self._seq)
        self.rows.append(delivery)

    def _held(self, delivery: Delivery) -> bool:
        return any(
            other.agency_code == delivery.agency_code
            and other.subject == delivery.subject
            and other.status in HOLDING
            and (other.seq or 0) < (delivery.seq or 0)
            for other in self.rows
        )

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        lease_until: datetime,
        held: Collection[str],
        capacity: Mapping[str, int] | None,
        sending: Collection[int] = (),
    ) -> list[Delivery]:
        claimed: list[Delivery] = []
        for delivery in sorted(self.rows, key=lambda row: row.seq or 0):
            due = delivery.next_attempt_at is not None and delivery.next_attempt_at <= now
            free = delivery.lease_expires_at is None or delivery.lease_expires_at < now
            mine = delivery.seq in sending
            if (
                delivery.status == DeliveryStatus.PENDING
                and due
                and free
                and not mine
                and delivery.agency_code not in held
            ):
                if not self._held(delivery) and len(claimed) < limit:
                    delivery.lease_expires_at = lease_until
                    claimed.append(delivery)
        return claimed

    def add_attempts(self, delivery_seq: int, attempts: Sequence[tuple[datetime, AttemptResult]]) -> None:
        self.attempts.extend(DeliveryAttempt.of(delivery_seq, at, result) for at, result in attempts)

    def by_seq(self, seq: int) -> Delivery:
        return next(row for row in self.rows if row.seq == seq)

    async def conclude_round(self, delivery_seq: int, *, leased_until: datetime, **values: Any) -> bool:
        row = self.by_seq(delivery_seq)
        if row.status != DeliveryStatus.PENDING or row.lease_expires_at != leased_until:
            return False
        values["last_error"] = values.pop("reason")
        for key, value in {**values, "lease_expires_at": None}.items():
            setattr(row, key, value)
        return True

    async def count_pending(self, agency_code: str) -> int:
        return sum(1 for row in self.rows if row.agency_code == agency_code and row.status == DeliveryStatus.PENDING)

    async def people_waiting_on(self, agency_code: str, failing_since: datetime) -> list[tuple[str | None, str, str]]:
        found = []
        for row in self.rows:
            waiting = row.status == DeliveryStatus.PENDING or (
                row.status == DeliveryStatus.DEAD_LETTERED and row.finished_at and row.finished_at >= failing_since
            )
            fact = self.facts.get(row.handover_id or "")
            if row.agency_code == agency_code and waiting and fact is not None:
                found.append((fact.establishment_code, fact.subject, fact.handover_id))
        return sorted(set(found), key=str)

    async def agencies_of_handover(self, handover_id: str) -> list[str]:
        return sorted({row.agency_code for row in self.rows if row.handover_id == handover_id})

    async def undelivered(
        self,
        *,
        webhook_id: str | None = None,
        agency_code: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        found = [
            row
            for row in self.rows
            if row.status in REPLAYABLE
            and (webhook_id is None or row.webhook_id == webhook_id)
            and (not agency_code or row.agency_code == agency_code)
            and (since is None or (row.finished_at is not None and row.finished_at >= since))
        ]
        return found[:limit] if limit else found

    async def requeue(self, delivery_seq: int, *, was: DeliveryStatus, replays: int, now: datetime) -> bool:
        row = self.by_seq(delivery_seq)
        if row.status != was:
            return False
        row.status, row.rounds, row.next_attempt_at, row.replays = DeliveryStatus.PENDING, 0, now, replays
        row.lease_expires_at = row.finished_at = None
        return True

    async def of_handover(self, handover_id: str) -> list[Delivery]:
        return [row for row in self.rows if row.handover_id == handover_id]

    async def by_webhook_id(self, webhook_id: str) -> Delivery | None:
        return next((row for row in self.rows if row.webhook_id == webhook_id), None)

    async def attempts_of(self, delivery_seq: int) -> list[DeliveryAttempt]:
        return [attempt for attempt in self.attempts if attempt.delivery_seq == delivery_seq]


class FakeDeliveryAudit:
    def __init__(self) -> None:
        self.rows: list[DeliveryAudit] = []

    def add(self, record: DeliveryAudit) -> None:
        self.rows.append(record)

    async def find(self, **which: Any) -> list[DeliveryAudit]:
        wanted = {key: value for key, value in which.items() if value and key != "limit"}
        return [row for row in self.rows if all(getattr(row, key) == value for key, value in wanted.items())]


class FakeEndpoints:
    def __init__(self) -> None:
        self.states: dict[str, EndpointState] = {}

    async def view(self, agency_code: str) -> EndpointView:
        state = self.states.get(agency_code)
        return EndpointView() if state is None else EndpointView(state.status, state.failing_since, state.reason)

    async def all(self) -> dict[str, EndpointState]:
        return dict(self.states)

    async def ensure(self, agency_code: str, now: datetime) -> EndpointState:
        state = EndpointState(agency_code=agency_code, status=EndpointStatus.ACTIVE, changed_at=now)
        return self.states.setdefault(agency_code, state)

    def save(self, state: EndpointState) -> None:
        self.states[state.agency_code] = state

    async def record_success(self, agency_code: str, now: datetime) -> bool:
        if agency_code not in self.states:
            return False
        self.states[agency_code].failing_since, self.states[agency_code].last_success_at = None, now
        return True

    async def record_failure(self, agency_code: str, now: datetime) -> None:
        state = self.states[agency_code]
        state.failing_since = state.failing_since or now

    async def disable(self, agency_code: str, *, reason: str, now: datetime) -> bool:
        state = self.states[agency_code]
        if state.status == EndpointStatus.DISABLED:
            return False
        state.status, state.reason, state.changed_at = EndpointStatus.DISABLED, reason, now
        return True

    async def pause_failing(self, agency_code: str, *, reason: str, now: datetime) -> EndpointState | None:
        state = self.states.get(agency_code)
        if state is None or state.status != EndpointStatus.ACTIVE or state.failing_since is None:
            return None
        state.status, state.reason, state.changed_at = EndpointStatus.PAUSED, reason, now
        return state


class FakeSaid:
    """The lines a unit of work would log once committed."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, object]]] = []

    def warning(self, event_name: str, **fields: object) -> None:
        self.lines.append((event_name, fields))


class FakeNotifierUow(FakeUnitOfWork):
    """One shared in-memory store; entering it again is a new unit of work over the same store."""

    def __init__(self) -> None:
        super().__init__()
        facts: dict[str, HandoverFact] = {}
        self.deliveries = FakeDeliveries()
        self.delivery_audit = FakeDeliveryAudit()
        self.endpoints = FakeEndpoints()
        self.watches = FakeWatches()
        self.escalations = FakeEscalations()
        self.handovers = FakeHandoverFacts(facts)
        self.directory = FakeDirectoryEntries()
        self.said = FakeSaid()
        self.deliveries.facts = self.watches.facts = self.escalations.facts = facts
        self.commits = 0

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> None:
        await super().__aexit__(kind, error, trace)
        self.commits += kind is None
