"""The unit of work: a use case's changes, the events they imply and their audit entries commit together or not
at all.

Use cases take a unit of work (keyword-only ``uow``) and never open sessions themselves, so the same use case runs
on the SQL unit of work in the service and on an in-memory fake in unit tests (``tests/unit/fakes.py``). Each
service subclasses :class:`SqlUnitOfWork` to add its repositories in ``_bind``; the outbox, the inbox and the audit
trail are the same in every service and live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, Self

from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import CloudEvent
from services.common import audit
from services.common.audit import AuditEntry
from services.common.clock import Clock
from services.common.db import Database
from services.common.inbox import first_deliveries, first_delivery, once_each
from services.common.outbox import add_to_outbox


class Outbox(Protocol):
    """Events to publish once the unit of work commits."""

    def add(self, *, topic: str, event: CloudEvent) -> None: ...


class Inbox(Protocol):
    """Events already applied: a consumer applies an event's effect only on its first delivery."""

    async def first_delivery(self, *, event_id: str, event_type: str) -> bool: ...

    async def first_deliveries(self, events: Sequence[CloudEvent]) -> list[CloudEvent]:
        """``first_delivery`` of each of ``events`` at once: those to apply, in order, an event given twice once."""
        ...


class AuditTrail(Protocol):
    """The service's append-only, hash-chained record of who did what."""

    async def record(self, entry: AuditEntry) -> None: ...


class UnitOfWork(Protocol):
    """What every service's unit of work offers; services add their repositories. Read-only properties, so that a
    service's protocol can narrow them and a subclass of :class:`SqlUnitOfWork` still satisfies it."""

    @property
    def outbox(self) -> Outbox: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def audit(self) -> AuditTrail: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


class SqlOutbox:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session, self._clock = session, clock

    def add(self, *, topic: str, event: CloudEvent) -> None:
        add_to_outbox(self._session, topic=topic, event=event, clock=self._clock)


class SqlInbox:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session, self._clock = session, clock

    async def first_delivery(self, *, event_id: str, event_type: str) -> bool:
        return await first_delivery(self._session, event_id=event_id, event_type=event_type, now=self._clock.now())

    async def first_deliveries(self, events: Sequence[CloudEvent]) -> list[CloudEvent]:
        pairs = [(event.id, event.type) for event in events]
        first = await first_deliveries(self._session, pairs, self._clock.now())
        return once_each(events, first)


class SqlAuditTrail:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session, self._clock = session, clock

    async def record(self, entry: AuditEntry) -> None:
        await audit.record(self._session, entry, self._clock.now())


class SqlUnitOfWork:
    """One database transaction (``Database.transaction``): commits when the block ends normally, rolls back when
    it raises. Subclasses bind their repositories to ``session`` in ``_bind``."""

    outbox: SqlOutbox
    inbox: SqlInbox
    audit: SqlAuditTrail
    session: AsyncSession

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database, self.clock = database, clock
        self._transaction: AbstractAsyncContextManager[AsyncSession] | None = None

    async def __aenter__(self) -> Self:
        self._transaction = self.database.transaction()
        self.session = await self._transaction.__aenter__()
        self.outbox = SqlOutbox(self.session, self.clock)
        self.inbox = SqlInbox(self.session, self.clock)
        self.audit = SqlAuditTrail(self.session, self.clock)
        self._bind(self.session)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        transaction, self._transaction = self._transaction, None
        assert transaction is not None, "the unit of work was left without being entered"
        await transaction.__aexit__(kind, error, trace)

    def _bind(self, session: AsyncSession) -> None:
        """Create the service's repositories over ``session``."""
