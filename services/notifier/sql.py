"""Small SQL helpers the notifier needs on both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


async def insert_ignore(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same key exists (concurrent writers included); True when inserted."""
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    result = await session.exec(insert.values(**values).on_conflict_do_nothing())  # type: ignore[call-overload]
    return bool(result.rowcount)
