"""Small SQL helpers the services need on both SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Result, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of

Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]]  # one row's, or many rows' (executemany)


def dialect_of(session: AsyncSession) -> str:
    """The name of the session's database dialect ("sqlite" or "postgresql"; "sqlite" before it is bound)."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def conflict_insert(target: Any, dialect: str) -> Any:
    """An INSERT into ``target`` (a table or a model) that can say what to do ``ON CONFLICT``: SQLite's and
    PostgreSQL's constructs have the same methods but are separate classes."""
    return postgresql.insert(target) if dialect == "postgresql" else sqlite.insert(target)


async def execute(session: AsyncSession, statement: Executable, parameters: Parameters | None = None) -> Result[Any]:
    """Run a statement whose rows are columns, not ORM objects (an INSERT, UPDATE or DELETE, or a select of
    columns), on the session's connection, after flushing what the session holds as ``Session.execute`` would.

    For the statements run per event or per webhook: ``Session.execute`` takes an ORM-enabled statement (one
    built on a model, as ``update(Delivery)`` or ``select(col(...))``) through the ORM's bulk machinery, about
    170 us on this machine against 60 us here, and hands off to SQLAlchemy's greenlet twice. A select of model
    objects still needs the session (identity map, loading)."""
    return await session.run_sync(_on_connection, statement, parameters)


def _on_connection(session: Session, statement: Executable, parameters: Parameters | None) -> Result[Any]:
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection().execute(statement, parameters)


async def insert_ignore(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same key exists (concurrent writers included); True when inserted."""
    dialect = dialect_of(session)
    result = await execute(session, insert_ignoring(model, dialect, frozenset(values)), values)
    return result.first() is not None


@functools.cache
def insert_ignoring(model: type[SQLModel], dialect: str, columns: frozenset[str]) -> Any:
    """The statement for one table, dialect and set of columns, built once (a watch is inserted after nearly
    every delivered referral: building it each time cost more than running it). Given many rows it is one
    statement (SQLAlchemy's "insertmanyvalues"), returning the keys of the rows inserted."""
    table = table_of(model)
    insert = conflict_insert(table, dialect)
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    # RETURNING, not rowcount: with psycopg's async driver the rowcount of a skipped insert is not 0.
    return insert.values(values).on_conflict_do_nothing().returning(*table.primary_key.columns)


class unindexed(FunctionElement[Any]):  # noqa: N801 - used as a SQL function is, lower case
    """A column's value that SQLite must not find through an index (``+column``), elsewhere the column as is.

    Without statistics SQLite picks an index by the shape of a query alone, and for some shapes it picks the one
    that reads every row (say, every due delivery, to sort them) over one that reads a few in order."""

    name = "unindexed"
    inherit_cache = True

    def __init__(self, column: Any) -> None:  # a column, or sqlmodel's typed attribute of one
        super().__init__(column)
        self.type = self.clauses.clauses[0].type


@compiles(unindexed)
def _as_is(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _no_index(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))
