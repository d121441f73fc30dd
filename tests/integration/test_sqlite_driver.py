"""The SQLite driver (``services/common/sqlite_driver.py``) on a real file, through the project's engine: a read's
statement is one hand-off to aiosqlite's thread, the writer's run on the event loop's thread with none, and
SQLAlchemy still gets what it reads from a cursor (rows, row counts, the last row id of an insert), the errors it
translates, and savepoints. It leans on aiosqlite's and SQLAlchemy's internals, so an upgrade that changes them
fails here first."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from services.common.db import Database

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("body", String(50), nullable=False, unique=True),
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'driver.db'}")
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield db
    await db.dispose()


async def test_rows_counts_and_inserted_ids_come_back(database: Database) -> None:
    async with database.transaction() as session:
        first = await session.execute(insert(notes).values(body="one"))
        second = await session.execute(insert(notes).values(body="two"))
        assert (first.inserted_primary_key, second.inserted_primary_key) == ((1,), (2,))
        await session.execute(insert(notes), [{"body": "three"}, {"body": "four"}])  # executemany
        changed = await session.execute(update(notes).where(notes.c.id > 2).values(body=notes.c.body + "!"))
        assert changed.rowcount == 2  # type: ignore[attr-defined]
    async with database.session() as session:
        rows = (await session.execute(select(notes.c.id, notes.c.body).order_by(notes.c.id))).all()
        assert [tuple(row) for row in rows] == [(1, "one"), (2, "two"), (3, "three!"), (4, "four!")]
        assert (await session.execute(select(notes.c.id).where(notes.c.id > 99))).first() is None


async def test_errors_are_translated_and_a_savepoint_is_undone_alone(database: Database) -> None:
    async with database.batch():
        async with database.transaction() as session:
            await session.execute(insert(notes).values(body="kept"))
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                await session.execute(insert(notes).values(body="undone"))
                await session.execute(insert(notes).values(body="kept"))  # unique: fails, the savepoint is undone
    async with database.session() as session:
        assert (await session.execute(select(notes.c.body))).scalars().all() == ["kept"]


async def test_a_statement_is_one_hand_off_to_the_thread(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with database.session() as session:  # connected, so only statements are counted below
        await session.execute(text("SELECT 1"))
    hand_offs = _count_hand_offs(monkeypatch)
    async with database.session() as session:
        for _ in range(10):
            assert (await session.execute(select(notes.c.id))).all() == []
        await session.rollback()
    # Ten statements, BEGIN, the rollback and the pool's reset: 13 (four hand-offs a statement made it 40 or more).
    assert hand_offs[0] <= 14, hand_offs[0]


def _count_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counted = [0]
    original = aiosqlite.core.Connection._execute

    async def counting(self: aiosqlite.core.Connection, fn: object, *args: object, **kwargs: object) -> object:
        counted[0] += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counting)
    return counted


async def test_the_writer_runs_on_the_loops_thread_and_a_read_hands_off(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def thread_function(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection._connection._conn.create_function("thread_id", 0, threading.get_ident)

    event.listen(database.engine.sync_engine, "connect", thread_function)
    await database.engine.dispose()  # connections made from here on have the function
    async with database.session() as session:  # connected, so only statements are counted below
        await session.execute(text("SELECT 1"))
    hand_offs = _count_hand_offs(monkeypatch)
    loop_thread = threading.get_ident()
    async with database.transaction() as session:
        assert (await session.execute(text("SELECT thread_id()"))).scalar_one() == loop_thread
        await session.execute(insert(notes).values(body="written"))
    assert hand_offs[0] == 0, "BEGIN, the statements and COMMIT of the writer ran without a hand-off"
    async with database.session() as session:
        assert (await session.execute(text("SELECT thread_id()"))).scalar_one() != loop_thread
        assert (await session.execute(select(notes.c.body))).scalars().all() == ["written"]
    assert hand_offs[0] >= 2, "a read's BEGIN and statements were handed to aiosqlite's thread"


async def test_the_writer_waits_for_another_connections_write_lock_and_then_commits(
    database: Database, tmp_path: Path
) -> None:
    """Another process (an operator's command) may hold SQLite's write lock while the writer runs on the loop's
    thread: the writer waits in SQLite's busy handler for that transaction to end, then goes on."""
    locked, release = threading.Event(), threading.Event()

    def other_process_writes() -> None:
        other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes (body) VALUES ('theirs')")
        locked.set()
        release.wait(timeout=30)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=other_process_writes)
    holder.start()
    assert locked.wait(timeout=30)
    ending = threading.Timer(0.2, release.set)  # the other transaction's length, not a wait of this test's
    ending.start()
    try:
        async with database.transaction() as session:
            await session.execute(insert(notes).values(body="ours"))
    finally:
        release.set()
        holder.join(timeout=30)
        ending.cancel()
    async with database.session() as session:
        assert sorted((await session.execute(select(notes.c.body))).scalars().all()) == ["ours", "theirs"]
