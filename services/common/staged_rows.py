"""Append-only rows written in one statement per table as the transaction commits, not as ORM objects.

Building an ORM object and flushing it costs far more than the row's INSERT; for rows nothing reads back inside
the transaction that writes them (outbox events, delivery attempts) that cost buys nothing. A unit of work stages
such rows on its session; just before the outermost transaction commits, the session's pending ORM work is
flushed (a staged row may refer to one) and each table's staged rows are inserted in one statement, in the order
they were staged. A savepoint that is rolled back drops what it staged with the rest of its work
(``Database.transaction`` restores the session's ``info``; the staged rows are a tuple, so that snapshot stays as
it was), and a rolled-back transaction drops them all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

_STAGED = "staged_rows"  # ((table, row), ...) in staging order


def stage(session: AsyncSession, table: Table, row: dict[str, Any]) -> None:
    """Write ``row`` into ``table`` when the session's transaction commits, or never if it does not."""
    session.info[_STAGED] = (*session.info.get(_STAGED, ()), (table, row))


# First of the session's before-commit hooks (``insert=True``), whatever the order modules were imported in: the
# rows are written before the audit chain takes its head row (``audit._append_staged``), which is to stay locked for
# the chaining alone, never while an insert waits on a key another replica's transaction holds.
@event.listens_for(Session, "before_commit", insert=True)
def _insert_staged(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its rows wait for the whole transaction
        return
    staged: tuple[tuple[Table, dict[str, Any]], ...] = session.info.pop(_STAGED, ())
    if not staged:
        return
    session.flush()
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, row in staged:
        by_table.setdefault(table, []).append(row)
    connection = session.connection()
    for table, rows in by_table.items():
        connection.execute(insert(table), rows)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_STAGED, None)
