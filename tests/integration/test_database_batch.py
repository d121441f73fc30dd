"""A batch is one transaction for many units of work, each a savepoint of it (services/common/db.py): one
failing unit of work is undone alone, the others commit together, and nothing is durable before the batch
commits. On SQLite and PostgreSQL, through the real unit of work (outbox, inbox, audit chain)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from contracts.envelope import CloudEvent
from services.common.audit import AuditEntry, AuditRecord
from services.common.audit_verify import verify_connection
from services.common.clock import FrozenClock
from services.common.db import BatchSpoiled, Database
from services.common.inbox import InboxEntry, first_delivery
from services.common.outbox import OutboxMessage
from services.common.unit_of_work import SqlUnitOfWork
from services.release_events.wiring import MIGRATIONS
from tests.support.polling import eventually_awaited
from tests.support.scratch_db import migrated_database_url

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def event(event_id: str) -> CloudEvent:
    return CloudEvent(id=event_id, source="ttg/test", type="uk.nhs.ttg.test.v1", time=NOW, subject="A1234BC", data={})


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    with migrated_database_url(request.param, tmp_path, MIGRATIONS, "batch") as url:
        database = Database(url)
        try:
            yield database
        finally:
            await database.dispose()


async def apply(database: Database, n: int, *, fail: bool = False) -> None:
    """One unit of work: an inbox entry, an outbox event and an audit record; raises at the end when ``fail``."""
    async with SqlUnitOfWork(database, FrozenClock(NOW)) as uow:
        assert await uow.inbox.first_delivery(event_id=f"in-{n}", event_type="t")
        uow.outbox.add(topic="custody.events.v1", event=event(f"out-{n}"))
        await uow.audit.record(AuditEntry.system("test", action="test.did", resource_type="test", resource_id=str(n)))
        if fail:
            raise ValueError(f"unit of work {n} failed")


async def stored(database: Database) -> tuple[list[str], list[str], list[str | None]]:
    async with database.session() as session:
        inbox = list((await session.exec(select(InboxEntry.event_id).order_by(col(InboxEntry.event_id)))).all())
        outbox = list((await session.exec(select(OutboxMessage.event_id).order_by(col(OutboxMessage.id)))).all())
        audited = list((await session.exec(select(AuditRecord.resource_id).order_by(col(AuditRecord.seq)))).all())
    return inbox, outbox, audited


async def test_a_failing_unit_of_work_is_undone_alone_and_its_neighbours_commit_together(database: Database) -> None:
    failures: list[str] = []
    async with database.batch():
        for n in range(5):
            try:
                await apply(database, n, fail=n == 2)
            except ValueError as error:
                failures.append(str(error))
        # inside the batch nothing is visible to another session yet
        assert await stored(database) == ([], [], [])
    assert failures == ["unit of work 2 failed"]
    inbox, outbox, audited = await stored(database)
    assert inbox == ["in-0", "in-1", "in-3", "in-4"]
    assert outbox == ["out-0", "out-1", "out-3", "out-4"]
    assert audited == ["0", "1", "3", "4"]
    async with database.engine.connect() as connection:
        verdict = await connection.run_sync(verify_connection)
    assert verdict.intact, verdict  # the chain has no gap where the undone record was


async def test_all_or_nothing_a_batch_commits_every_unit_of_work_and_chains_their_audit(database: Database) -> None:
    async with database.batch_all_or_nothing():
        for n in range(5):
            await apply(database, n)
        assert await stored(database) == ([], [], [])
    inbox, outbox, audited = await stored(database)
    assert (inbox, outbox, audited) == ([f"in-{n}" for n in range(5)], [f"out-{n}" for n in range(5)], list("01234"))
    async with database.engine.connect() as connection:
        verdict = await connection.run_sync(verify_connection)
    assert verdict.intact, verdict


@pytest.mark.hazard("H93")
async def test_all_or_nothing_a_failing_unit_of_work_spoils_the_batch_and_nothing_is_kept(database: Database) -> None:
    """Without savepoints a failure cannot be undone alone: the units of work after it refuse to start, the batch
    refuses to commit, and the caller does them again one by one."""
    with pytest.raises(BatchSpoiled):
        async with database.batch_all_or_nothing():
            await apply(database, 0)
            with pytest.raises(ValueError, match="unit of work 1 failed"):
                await apply(database, 1, fail=True)
            with pytest.raises(BatchSpoiled):
                await apply(database, 2)
    assert await stored(database) == ([], [], [])
    for n in range(3):  # one by one, as a caller does them again
        try:
            await apply(database, n, fail=n == 1)
        except ValueError:
            pass
    inbox, outbox, audited = await stored(database)
    assert (inbox, outbox, audited) == (["in-0", "in-2"], ["out-0", "out-2"], ["0", "2"])


async def test_all_or_nothing_a_unique_clash_is_the_unit_of_works_own_error(database: Database) -> None:
    """Each unit of work's rows are written as it ends, so a clash is raised there, not at the batch's commit."""
    with pytest.raises(BatchSpoiled):
        async with database.batch_all_or_nothing():
            async with database.transaction() as session:
                session.add(InboxEntry(event_id="same", event_type="t", processed_at=NOW))
            with pytest.raises(IntegrityError):
                async with database.transaction() as session:
                    session.add(InboxEntry(event_id="same", event_type="t", processed_at=NOW))
    assert await stored(database) == ([], [], [])


async def test_a_batch_that_raises_keeps_nothing_of_any_unit_of_work(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.batch():
            await apply(database, 1)
            await apply(database, 2)
            raise RuntimeError("the batch could not finish")
    assert await stored(database) == ([], [], [])


async def test_an_event_seen_earlier_in_the_same_batch_is_not_applied_twice(database: Database) -> None:
    async with database.batch():
        await apply(database, 7)
        async with SqlUnitOfWork(database, FrozenClock(NOW)) as uow:
            assert not await uow.inbox.first_delivery(event_id="in-7", event_type="t")
    inbox, _, _ = await stored(database)
    assert inbox == ["in-7"]


async def test_batches_cannot_nest_in_each_other_or_in_a_transaction(database: Database) -> None:
    async with database.batch():
        with pytest.raises(RuntimeError, match="batch"):
            async with database.batch():
                pass
    async with database.transaction():
        with pytest.raises(RuntimeError, match="batch"):
            async with database.batch():
                pass


@pytest.mark.parametrize("first_ends", ["commit", "rollback"])
async def test_an_event_applied_by_two_replicas_at_once_takes_effect_once(tmp_path: Path, first_ends: str) -> None:
    """On PostgreSQL the second replica's inbox insert waits for the first's transaction: skipped once the
    first commits, applied when the first rolls back (its effect was undone with it)."""
    with migrated_database_url("postgresql", tmp_path, MIGRATIONS, "inbox_race") as url:
        database = Database(url)
        try:
            async with database.session() as first, database.session() as second:
                assert await first_delivery(first, event_id="e-1", event_type="t", now=NOW)
                waiting = asyncio.create_task(first_delivery(second, event_id="e-1", event_type="t", now=NOW))
                await until_a_backend_waits_on_a_lock(database)
                assert not waiting.done(), "the second waits for the first's transaction"
                await (first.commit() if first_ends == "commit" else first.rollback())
                applied_again = await asyncio.wait_for(waiting, timeout=10)
                await second.commit()
            assert applied_again is (first_ends == "rollback")
            inbox, _, _ = await stored(database)
            assert inbox == ["e-1"]
        finally:
            await database.dispose()


async def until_a_backend_waits_on_a_lock(database: Database) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    async def waiting() -> int:
        async with database.session() as session:
            return int((await session.execute(query)).scalar_one())

    await eventually_awaited(waiting, timeout=10.0, what="a transaction waiting on the inbox row's lock")
