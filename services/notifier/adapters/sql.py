"""Small SQL helpers the notifier needs on both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of


async def insert_ignore(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same key exists (concurrent writers included); True when inserted."""
    table = table_of(model)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    # RETURNING, not rowcount: with psycopg's async driver the rowcount of a skipped insert is not 0.
    statement = insert.values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    result = await session.exec(statement)
    return result.first() is not None
