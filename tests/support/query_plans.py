"""What statements a piece of code runs, and how SQLite plans them: for tests that keep a hot read on its index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from services.common.db import Database

Statement = tuple[str, Any]  # its SQL and its parameters


@contextmanager
def statements_run(database: Database) -> Iterator[list[Statement]]:
    """The statements the database's engine runs within the block, in order."""
    ran: list[Statement] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        ran.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield ran
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", keep)


def sqlite_plans(database: Database, statements: list[Statement]) -> list[list[str]]:
    """Each statement's ``EXPLAIN QUERY PLAN`` steps on the database's SQLite file."""
    with sqlite3.connect(str(database.engine.url.database)) as connection:
        return [
            [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in statements
        ]
