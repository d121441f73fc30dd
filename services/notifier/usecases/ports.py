"""What the notifier's use cases need of storage: its unit of work and repositories, as protocols (the SQL ones
are in ``adapters/``, the in-memory ones in the unit tests)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from services.common.unit_of_work import UnitOfWork
from services.notifier.adapters.tables import (
    Delivery,
    DeliveryAttempt,
    DeliveryAudit,
    DirectoryEndpoint,
    EndpointState,
    Escalation,
    HandoverFact,
    ReferralWatch,
)
from services.notifier.domain.states import DeliveryStatus
from services.notifier.domain.verdict import AttemptResult, EndpointView


class Deliveries(Protocol):
    def add(self, delivery: Delivery) -> None: ...
    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        lease_until: datetime,
        held: Collection[str],
        capacity: Mapping[str, int] | None,
        sending: Collection[int] = (),
    ) -> list[Delivery]: ...
    def add_attempts(self, delivery_seq: int, attempts: Sequence[tuple[datetime, AttemptResult]]) -> None: ...
    async def conclude_round(
        self,
        delivery_seq: int,
        *,
        leased_until: datetime,
        status: DeliveryStatus,
        attempt_count: int,
        rounds: int,
        next_attempt_at: datetime | None,
        reason: str | None,
        finished_at: datetime | None,
    ) -> bool: ...
    async def count_pending(self, agency_code: str) -> int: ...
    async def people_waiting_on(
        self, agency_code: str, failing_since: datetime
    ) -> list[tuple[str | None, str, str]]: ...
    async def agencies_of_handover(self, handover_id: str) -> list[str]: ...
    async def undelivered(
        self,
        *,
        webhook_id: str | None = None,
        agency_code: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Delivery]: ...
    async def requeue(self, delivery_seq: int, *, was: DeliveryStatus, replays: int, now: datetime) -> bool: ...
    async def of_handover(self, handover_id: str) -> list[Delivery]: ...
    async def by_webhook_id(self, webhook_id: str) -> Delivery | None: ...
    async def attempts_of(self, delivery_seq: int) -> list[DeliveryAttempt]: ...


class DeliveryAuditView(Protocol):
    def add(self, record: DeliveryAudit) -> None: ...
    async def find(
        self,
        *,
        webhook_id: str | None = None,
        agency_code: str | None = None,
        handover_id: str | None = None,
        limit: int = 500,
    ) -> list[DeliveryAudit]: ...


class Endpoints(Protocol):
    async def view(self, agency_code: str) -> EndpointView: ...
    async def all(self) -> dict[str, EndpointState]: ...
    async def ensure(self, agency_code: str, now: datetime) -> EndpointState: ...
    def save(self, state: EndpointState) -> None: ...
    async def record_success(self, agency_code: str, now: datetime) -> bool: ...
    async def record_failure(self, agency_code: str, now: datetime) -> None: ...
    async def disable(self, agency_code: str, *, reason: str, now: datetime) -> bool: ...
    async def pause_failing(self, agency_code: str, *, reason: str, now: datetime) -> EndpointState | None: ...


class ReferralWatches(Protocol):
    async def watch(
        self, handover_id: str, agency_code: str, *, agency_kind: str, subject: str, delivered_at: datetime
    ) -> None: ...
    async def rearm(
        self, handover_id: str, agency_code: str, *, agency_kind: str, subject: str, now: datetime
    ) -> None: ...
    async def settle_agency(self, handover_id: str, agency_code: str) -> None: ...
    async def settle(self, watch_id: int) -> None: ...
    async def answer(
        self, handover_id: str, agency_code: str, *, subject: str | None, answered_at: datetime, answer: str
    ) -> None: ...
    async def unanswered(
        self, *, delivered_by: datetime, release_by: date, limit: int
    ) -> list[tuple[ReferralWatch, HandoverFact | None]]: ...
    async def of_handover(self, handover_id: str) -> list[ReferralWatch]: ...


class Escalations(Protocol):
    async def done(self, handover_ids: Collection[str]) -> set[tuple[str, str, str]]: ...
    async def claim(self, escalation: Escalation) -> bool: ...
    async def set_told(self, handover_id: str, deadline: str, agency_codes: list[str], told: str) -> None: ...
    async def with_facts(
        self, *, handover_id: str | None, establishments: Collection[str] | None, limit: int
    ) -> list[tuple[Escalation, HandoverFact | None]]: ...


class HandoverFacts(Protocol):
    async def get(self, handover_id: str) -> HandoverFact | None: ...
    async def remember(self, handover_id: str, *, withdrawn: bool, facts: dict[str, object]) -> None: ...


class DirectoryEntries(Protocol):
    async def get(self, code: str) -> DirectoryEndpoint | None: ...
    def save(self, entry: DirectoryEndpoint) -> None: ...
    async def all(self) -> list[DirectoryEndpoint]: ...


class SaidAfterCommit(Protocol):
    """Log lines written only once the unit of work's transaction has committed (not when a savepoint ends)."""

    def warning(self, event_name: str, **fields: object) -> None: ...


class NotifierUow(UnitOfWork, Protocol):
    """The common unit of work with the notifier's repositories (read-only, so that the SQL one and the fakes
    both fit)."""

    @property
    def deliveries(self) -> Deliveries: ...
    @property
    def delivery_audit(self) -> DeliveryAuditView: ...
    @property
    def endpoints(self) -> Endpoints: ...
    @property
    def watches(self) -> ReferralWatches: ...
    @property
    def said(self) -> SaidAfterCommit: ...
    @property
    def escalations(self) -> Escalations: ...
    @property
    def handovers(self) -> HandoverFacts: ...
    @property
    def directory(self) -> DirectoryEntries: ...


UowFactory = Callable[[], NotifierUow]
