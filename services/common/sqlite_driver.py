"""SQLite through aiosqlite with one thread hand-off per statement instead of four, and none for the writer.

aiosqlite runs every call on its own thread; SQLAlchemy's adapter makes a cursor, executes, fetches and closes
it as four calls, each a hand-off to that thread and back to the event loop (a queue put, a wake-up, a GIL turn
each way). Measured on handover's notice path (``benchmarks/handover_apply.py``) those hand-offs were most of the
wall time. Here a statement is executed, its rows fetched and its cursor closed in one function on aiosqlite's
thread; description, row count and last row id come back with the rows. Everything else (connections,
transactions, error translation, the pool) is SQLAlchemy's aiosqlite dialect as it is.

The process's writer (``Database`` holds its turn to write, :func:`inline_statements`) skips even that hand-off:
its statements, COMMIT and ROLLBACK run on the event loop's own thread. A statement of a writer takes tens of
microseconds, less than the hand-off itself, and the writers wait for one another anyway; measured side by side,
this took a fifth to a half of the CPU per notice or webhook. It is safe only because no other writer of the
process can hold SQLite's write lock meanwhile (they take turns on ``Database``'s lock), so a statement never
waits in SQLite's busy handler on the loop's thread for a writer that needs the loop to finish; another process
(an operator's command) holds it only for its own short transaction. Reads outside a transaction (the console,
the API's GETs) keep the hand-off: a long read never stalls the loop.

Registered as the ``sqlite+ttg_aiosqlite`` driver; :func:`services.common.db.create_engine` uses it for SQLite.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT

DRIVER = "ttg_aiosqlite"
Outcome = tuple[Any, list[Any], int, int | None]

_inline: ContextVar[bool] = ContextVar("sqlite_inline", default=False)


@contextmanager
def inline_statements() -> Iterator[None]:
    """Within the block, this task's SQLite statements, COMMIT and ROLLBACK run on the event loop's thread. Only
    for the holder of the process's turn to write (the module's docstring says why)."""
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """On aiosqlite's thread: execute, fetch every row, close; what SQLAlchemy reads of the cursor after."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHandOffCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor holding a statement's outcome: made without a hand-off, executed and fetched in one."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: Any) -> None:  # no aiosqlite cursor: nothing to open on the thread
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: Outcome = (None, [], -1, None)

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> int:
        return self._outcome[3]  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = self._connection
            if _inline.get():
                self._outcome = _run(connection._conn, operation, parameters, many)
            else:
                self._outcome = await connection._execute(_run, connection._conn, operation, parameters, many)
            self._rows = collections.deque(self._outcome[1])

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneHandOffConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHandOffCursor

    def commit(self) -> None:
        if _inline.get() and self._connection._connection:
            self._end_inline(self._connection._conn.commit)
        else:
            super().commit()

    def rollback(self) -> None:
        if _inline.get() and self._connection._connection:
            self._end_inline(self._connection._conn.rollback)
        else:
            super().rollback()

    def _end_inline(self, end: Any) -> None:
        try:
            end()
        except Exception as error:
            self._handle_exception(error)


class OneHandOffDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHandOffConnection:
        adapted = super().connect(*arg, **kw)
        adapted.__class__ = OneHandOffConnection  # same slots; only the cursor class differs
        return adapted  # type: ignore[return-value]


class OneHandOffDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHandOffDbapi:
        return OneHandOffDbapi(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHandOffDialect")
