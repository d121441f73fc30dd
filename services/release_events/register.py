"""The custody register in the database: read a person's line locked for the deciding transaction, save it.

The decision itself is :mod:`services.release_events.domain.custody_rules`; this module makes "check, then
write" one step. The row is created if missing (insert, ignoring a concurrent insert) and then read ``FOR
UPDATE``: on PostgreSQL a second submission about the same person waits for the first to commit and is then
decided against what the first wrote. SQLite has no row locks, but a process's writers take turns
(``services.common.db.Database``) and SQLite runs one replica, which gives the same order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.release_events.domain.custody_rules import Custody, Refused
from services.release_events.models import CustodyRegister


class CustodyRefused(Exception):
    """The register refuses the write; raised inside the transaction so that nothing of it is stored."""

    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.detail)
        self.refused = refused


async def lock(session: AsyncSession, prison_number: str, now: datetime) -> Custody:
    """The person's line, locked until the transaction ends (a new line if the person was never seen)."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CustodyRegister)
    await session.exec(  # type: ignore[call-overload]
        insert.values(prison_number=prison_number, released=False, set_by="", updated_at=now).on_conflict_do_nothing(
            index_elements=["prison_number"]
        )
    )
    row = (
        await session.exec(
            select(CustodyRegister).where(CustodyRegister.prison_number == prison_number).with_for_update()
        )
    ).one()
    return Custody(holder=row.establishment_code, sequence=row.sequence, released=row.released)


async def save(session: AsyncSession, prison_number: str, custody: Custody, set_by: str, now: datetime) -> None:
    row = await session.get(CustodyRegister, prison_number)
    if row is None:  # lock() always creates it first
        raise RuntimeError("custody register line missing: call lock() in the same transaction")
    row.establishment_code = custody.holder
    row.sequence = custody.sequence
    row.released = custody.released
    row.set_by = set_by
    row.updated_at = now
    session.add(row)


async def holder_of(session: AsyncSession, prison_number: str) -> Custody:
    row = await session.get(CustodyRegister, prison_number)
    if row is None:
        return Custody()
    return Custody(holder=row.establishment_code, sequence=row.sequence, released=row.released)
