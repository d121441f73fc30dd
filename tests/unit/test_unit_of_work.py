"""The SQL unit of work commits a use case's rows, events and audit entries together, or none of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from contracts.envelope import CloudEvent
from services.common.audit import AuditEntry, AuditRecord
from services.common.clock import FrozenClock
from services.common.db import Database
from services.common.inbox import InboxEntry
from services.common.migrations import upgrade
from services.common.outbox import OutboxMessage
from services.common.unit_of_work import SqlUnitOfWork
from services.release_events.wiring import MIGRATIONS

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def event(event_id: str) -> CloudEvent:
    return CloudEvent(id=event_id, source="ttg/test", type="uk.nhs.ttg.test.v1", time=NOW, subject="A1234BC", data={})


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'uow.db'}"
    upgrade(url, MIGRATIONS)
    database = Database(url)
    yield database
    await database.dispose()


async def test_what_a_unit_of_work_stages_commits_together(database: Database) -> None:
    async with SqlUnitOfWork(database, FrozenClock(NOW)) as uow:
        assert await uow.inbox.first_delivery(event_id="e-1", event_type="t")
        uow.outbox.add(topic="custody.events.v1", event=event("e-2"))
        await uow.audit.record(AuditEntry.system("test", action="test.did", resource_type="test"))
    async with database.session() as session:
        assert (await session.exec(select(InboxEntry.event_id))).all() == ["e-1"]
        assert (await session.exec(select(OutboxMessage.event_id))).all() == ["e-2"]
        assert len((await session.exec(select(AuditRecord))).all()) == 1
    async with SqlUnitOfWork(database, FrozenClock(NOW)) as uow:
        assert not await uow.inbox.first_delivery(event_id="e-1", event_type="t")


async def test_a_unit_of_work_that_raises_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with SqlUnitOfWork(database, FrozenClock(NOW)) as uow:
            uow.outbox.add(topic="custody.events.v1", event=event("e-3"))
            raise RuntimeError("the use case failed")
    async with database.session() as session:
        assert (await session.exec(select(OutboxMessage.event_id))).all() == []


def test_staged_rows_are_written_before_the_audit_chain_takes_its_head_row() -> None:
    """Whatever order the modules were imported in, the before-commit hook writing staged rows runs before the one
    chaining audit entries: the chain's head row stays locked for the chaining alone."""
    from sqlalchemy.orm import Session

    from services.common import audit, staged_rows

    hooks = list(Session.dispatch.before_commit._clslevel[Session])
    assert hooks.index(staged_rows._insert_staged) < hooks.index(audit._append_staged)
