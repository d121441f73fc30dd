"""The SQLite driver (``services/common/sqlite_driver.py``) on a real file, through the project's engine: each
statement is one hand-off to aiosqlite's thread, and SQLAlchemy still gets what it reads from a cursor (rows, row
counts, the last row id of an insert), the errors it translates, and savepoints. It leans on aiosqlite's and
SQLAlchemy's internals, so an upgrade that changes them fails here first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite.core
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
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
    hand_offs = 0
    original = aiosqlite.core.Connection._execute

    async def counting(self: aiosqlite.core.Connection, fn: object, *args: object, **kwargs: object) -> object:
        nonlocal hand_offs
        hand_offs += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counting)
    async with database.session() as session:
        for _ in range(10):
            assert (await session.execute(select(notes.c.id))).all() == []
        await session.rollback()
    # Ten statements, BEGIN, the rollback and the pool's reset: 13 (four hand-offs a statement made it 40 or more).
    assert hand_offs <= 14, hand_offs
