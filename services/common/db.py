"""Database access: one async engine per service, URLs normalised, SQLite tuned for a service's workload.

``database_url`` may be given in its plain form (``sqlite:///var/x.db``, ``postgresql://u@h/db``); the
async driver (aiosqlite, psycopg) and the sync driver used by Alembic are chosen here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, inspect
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import sqlite_driver


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model, for statements that bypass the ORM (bulk updates, hash chains)."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


def _url(database_url: str, *, asynchronous: bool) -> URL:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername=f"sqlite+{sqlite_driver.DRIVER}" if asynchronous else "sqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def async_url(database_url: str) -> URL:
    return _url(database_url, asynchronous=True)


def sync_url(database_url: str) -> URL:
    return _url(database_url, asynchronous=False)


def is_sqlite(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "sqlite"


def prepare_sqlite_file(database_url: str) -> None:
    """Create the folder of a SQLite file, so that a fresh checkout starts without manual steps."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(dbapi_connection: Any, _: Any) -> None:
    # The driver's own transaction handling (a BEGIN deferred until the first write) breaks savepoints, which
    # batches rely on: SQLAlchemy emits BEGIN itself instead (``_begin_sqlite``), as its SQLite notes advise.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def create_engine(database_url: str) -> AsyncEngine:
    prepare_sqlite_file(database_url)
    if is_sqlite(database_url):
        engine = create_async_engine(async_url(database_url), connect_args={"check_same_thread": False})
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
        return engine
    return create_async_engine(async_url(database_url), pool_size=10, max_overflow=10, pool_pre_ping=True)


_in_transaction: ContextVar[bool] = ContextVar("in_transaction", default=False)


class BatchSpoiled(Exception):
    """A unit of work failed inside a batch without savepoints: nothing of the batch may be committed, and its
    units of work are to be done again one by one."""


@dataclass
class _Batch:
    session: AsyncSession
    savepoints: bool
    spoiled: bool = False


_current_batch: ContextVar[_Batch | None] = ContextVar("current_batch", default=None)


class Database:
    """The engine and a session factory; ``transaction()`` is the unit of work.

    SQLite lets one connection write at a time, and a connection that finds the file locked sleeps in growing
    steps (its busy handler) before trying again: with the consumer, the dispatcher and the relay of one process
    writing at once, most of the time went to those sleeps. So on SQLite the process's writers take turns on an
    asyncio lock instead, and never meet the busy handler; reads (``session()``) do not take it (WAL).
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.engine = create_engine(database_url)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._writers = asyncio.Lock() if is_sqlite(database_url) else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together at the end of the block, or not at all.

        Inside :meth:`batch` it is a savepoint of the batch's transaction instead: the block's work is undone
        alone when it raises, and is committed with the rest of the batch."""
        if _in_transaction.get():
            raise RuntimeError("a transaction was opened inside another one: use the outer session")
        token = _in_transaction.set(True)
        try:
            batch = _current_batch.get()
            if batch is not None and batch.savepoints:
                before = dict(batch.session.info)
                try:
                    async with batch.session.begin_nested():
                        yield batch.session
                except BaseException:
                    # What the unit of work staged on the session for its commit (audit entries) is undone
                    # with its rows.
                    batch.session.info.clear()
                    batch.session.info.update(before)
                    raise
            elif batch is not None:
                if batch.spoiled:
                    raise BatchSpoiled("an earlier unit of work of this batch failed")
                try:
                    yield batch.session
                    # Its rows written now, so that a clash is its own error, as at a savepoint's end.
                    await batch.session.flush()
                except BaseException:
                    batch.spoiled = True
                    raise
            else:
                async with self._writing() as session:
                    yield session
        finally:
            _in_transaction.reset(token)

    @asynccontextmanager
    async def batch(self, *, savepoints: bool = True) -> AsyncIterator[AsyncSession]:
        """One transaction for many units of work of this task (a consumer's batch, a round of requests):
        each ``transaction()`` opened inside is a savepoint of it, so one failing unit of work is rolled back
        alone while the others commit together, once. Nothing inside is durable before the batch commits: a
        caller answers or acknowledges the units of work only after the block has ended normally.

        Without ``savepoints`` a failing unit of work spoils the batch instead: every later one raises
        :class:`BatchSpoiled`, and so does the block's end, so nothing of it is committed and the caller does
        them again one by one. That suits callers whose units of work almost never fail (consumers, recorded
        rounds): a savepoint and its release cost two statements and SQLAlchemy's nested transaction each."""
        if _in_transaction.get() or _current_batch.get() is not None:
            raise RuntimeError("a batch was opened inside a transaction or another batch")
        async with self._writing() as session:
            batch = _Batch(session, savepoints)
            token = _current_batch.set(batch)
            try:
                yield session
                if batch.spoiled:
                    raise BatchSpoiled("a unit of work of this batch failed: nothing of it is committed")
            finally:
                _current_batch.reset(token)

    def batch_all_or_nothing(self) -> AbstractAsyncContextManager[AsyncSession]:
        """``batch(savepoints=False)``, for callers that do a failed batch's units of work again one by one (the
        consumers' groups of events, the notifier's recorded rounds)."""
        return self.batch(savepoints=False)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A session in its own transaction; on SQLite holding the process's turn to write."""
        if self._writers is None:
            async with self._sessions() as session, session.begin():
                yield session
        else:
            async with self._writers:
                with sqlite_driver.inline_statements():
                    async with self._sessions() as session, session.begin():
                        yield session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps none of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)
