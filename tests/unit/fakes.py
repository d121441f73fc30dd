"""In-memory stand-ins for the unit of work's common parts, for unit tests of use cases (no database, no broker).

A service's fake unit of work subclasses :class:`FakeUnitOfWork` and adds fake repositories; tests then assert on
``committed``, ``outbox.events``, ``audit.entries`` and the repositories' contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from contracts.envelope import CloudEvent
from services.common.audit import AuditEntry


class FakeOutbox:
    def __init__(self) -> None:
        self.events: list[tuple[str, CloudEvent]] = []

    def add(self, *, topic: str, event: CloudEvent) -> None:
        self.events.append((topic, event))

    def of_type(self, event_type: str) -> list[CloudEvent]:
        return [event for _, event in self.events if event.type == event_type]


class FakeInbox:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def first_delivery(self, *, event_id: str, event_type: str) -> bool:
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        return True

    async def first_deliveries(self, events: Sequence[CloudEvent]) -> list[CloudEvent]:
        return [event for event in events if await self.first_delivery(event_id=event.id, event_type=event.type)]


class FakeAuditTrail:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def record(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


class FakeUnitOfWork:
    """Commits when the block ends normally; a block that raises leaves ``committed`` False. The fake keeps what
    was staged even on rollback, so subclasses that need true rollback snapshot their repositories in
    ``__aenter__``."""

    def __init__(self) -> None:
        self.outbox = FakeOutbox()
        self.inbox = FakeInbox()
        self.audit = FakeAuditTrail()
        self.committed = False
        self.rolled_back = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.committed = True
        else:
            self.rolled_back = True
