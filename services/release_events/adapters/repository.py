"""The SQL behind release_events' use cases: the only module here that builds queries.

The custody register's ``lock`` makes "check, then write" one step. The row is created if missing (insert,
ignoring a concurrent insert) and then read ``FOR UPDATE``: on PostgreSQL a second submission about the same
person waits for the first to commit and is then decided against what the first wrote. SQLite has no row locks,
but a process's writers take turns (``services.common.db.Database``) and SQLite runs one replica, which gives
the same order.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.common.outbox import OutboxMessage
from services.common.sql import conflict_insert, dialect_of, execute
from services.release_events.adapters.tables import (
    CustodyEventRecord,
    CustodyRegisterLine,
    IdempotencyRecord,
    NoticeDelivery,
    NoticeProgress,
    NoticeRevision,
    ReleaseNoticeRecord,
)
from services.release_events.domain.custody_rules import Custody
from services.release_events.usecases.ports import DeliveryNote, PackNote


class SqlNotices:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, notice_id: str) -> ReleaseNoticeRecord | None:
        return await self._session.get(ReleaseNoticeRecord, notice_id)

    async def reload(self, record: ReleaseNoticeRecord) -> None:
        """Read the row again: a concurrent correction may have committed while the register lock was awaited."""
        await self._session.refresh(record)

    async def latest_of(self, prison_number: str) -> ReleaseNoticeRecord | None:
        query = (
            select(ReleaseNoticeRecord)
            .where(ReleaseNoticeRecord.prison_number == prison_number)
            .order_by(col(ReleaseNoticeRecord.received_at).desc())
            .limit(1)
        )
        return (await self._session.exec(query)).first()

    def add(self, record: ReleaseNoticeRecord) -> None:
        self._session.add(record)

    def add_revision(self, revision: NoticeRevision) -> None:
        self._session.add(revision)

    async def revisions_of(self, notice_id: str) -> list[NoticeRevision]:
        query = (
            select(NoticeRevision).where(NoticeRevision.notice_id == notice_id).order_by(col(NoticeRevision.revision))
        )
        return list((await self._session.exec(query)).all())


class SqlIdempotencyRecords:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return await self._session.get(IdempotencyRecord, (scope, key))

    async def forget(self, scope: str, key: str, *, created_before: datetime) -> None:
        await self._session.exec(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.scope) == scope,
                col(IdempotencyRecord.key) == key,
                col(IdempotencyRecord.created_at) <= created_before,
            )
        )

    def add(self, record: IdempotencyRecord) -> None:
        self._session.add(record)

    async def purge(self, *, created_before: datetime) -> int:
        result = await self._session.exec(
            delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) <= created_before)
        )
        return int(result.rowcount or 0)


# Every notice and custody event locks its person's line: its statements are built once.
_LOCK_LINE = (
    select(CustodyRegisterLine).where(col(CustodyRegisterLine.prison_number) == bindparam("person")).with_for_update()
)


@functools.cache
def _new_line(dialect: str) -> Any:
    """The person's line, made (not in custody, set by nobody) unless it exists."""
    insert = conflict_insert(CustodyRegisterLine, dialect)
    values = {"prison_number": bindparam("person"), "released": False, "set_by": "", "updated_at": bindparam("now")}
    return insert.values(values).on_conflict_do_nothing(index_elements=["prison_number"])


class SqlCustodyRegister:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # The session's identity map holds rows weakly: keep the locked ones, so save() needs no second SELECT.
        self._locked: dict[str, CustodyRegisterLine] = {}

    async def lock(self, prison_number: str, now: datetime) -> Custody:
        """The person's line, locked until the transaction ends (a new line if the person was never seen)."""
        dialect = dialect_of(self._session)
        await execute(self._session, _new_line(dialect), {"person": prison_number, "now": now})
        row = self._locked[prison_number] = (
            await self._session.execute(_LOCK_LINE, {"person": prison_number})
        ).scalar_one()
        return Custody(holder=row.establishment_code, sequence=row.sequence, released=row.released)

    async def save(self, prison_number: str, custody: Custody, *, set_by: str, now: datetime) -> None:
        row = self._locked.get(prison_number) or await self._session.get(CustodyRegisterLine, prison_number)
        if row is None:  # lock() always creates it first
            raise RuntimeError("custody register line missing: call lock() in the same transaction")
        row.establishment_code = custody.holder
        row.sequence = custody.sequence
        row.released = custody.released
        row.set_by = set_by
        row.updated_at = now
        self._session.add(row)


class SqlCustodyEvents:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, custody_event_id: str) -> CustodyEventRecord | None:
        return await self._session.get(CustodyEventRecord, custody_event_id)

    async def by_sequence(self, prison_number: str, sequence: int) -> CustodyEventRecord | None:
        query = select(CustodyEventRecord).where(
            CustodyEventRecord.prison_number == prison_number, CustodyEventRecord.sequence == sequence
        )
        return (await self._session.exec(query)).first()

    async def any_since(self, prison_number: str, since: datetime) -> bool:
        query = select(CustodyEventRecord.id).where(
            CustodyEventRecord.prison_number == prison_number, CustodyEventRecord.received_at > since
        )
        return (await self._session.exec(query)).first() is not None

    def add(self, record: CustodyEventRecord) -> None:
        self._session.add(record)


@functools.cache
def _keep_newest_delivery(dialect: str) -> Any:
    """Insert a handover's delivery state to an agency, or replace the one held when this one is not older: the
    rule of ``progress_rules.delivery_moves``, in SQL so that one statement decides it (and two replicas
    following the same delivery cannot both insert it)."""
    table = table_of(NoticeDelivery)
    insert = conflict_insert(table, dialect)
    statement = insert.values({name: bindparam(name, type_=column.type) for name, column in table.c.items()})
    return statement.on_conflict_do_update(
        index_elements=[table.c.handover_id, table.c.agency_code],
        set_={name: statement.excluded[name] for name in ("message", "state", "updated_at")},
        where=statement.excluded.updated_at >= table.c.updated_at,
    )


@functools.cache
def _keep_newest_pack(dialect: str) -> Any:
    """Insert a handover's pack state, or replace the one held when this one is not older: the rule of
    ``progress_rules.pack_moves`` (a later version, or the same version's newer event), in SQL as for deliveries.
    The notice a handover answers never changes, so only the state moves."""
    table = table_of(NoticeProgress)
    insert = conflict_insert(table, dialect)
    statement = insert.values({name: bindparam(name, type_=column.type) for name, column in table.c.items()})
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.handover_id],
        set_={name: new[name] for name in ("version", "state", "updated_at")},
        where=or_(
            new.version > table.c.version,
            and_(new.version == table.c.version, new.updated_at >= table.c.updated_at),
        ),
    )


class SqlProgress:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def note_packs(self, notes: Sequence[PackNote]) -> None:
        """Many handovers' pack states, one statement run for all (a run of handover events)."""
        if notes:
            rows = [
                {"handover_id": h, "notice_id": n, "version": v, "state": s, "updated_at": at}
                for h, n, v, s, at in notes
            ]
            await execute(self._session, _keep_newest_pack(dialect_of(self._session)), rows)

    async def note_each(self, notes: Sequence[DeliveryNote]) -> None:
        """Many agencies' delivery states, one statement run for all (release_events follows three deliveries of
        every notice twice: pending, then their outcome)."""
        if notes:
            rows = [
                {"handover_id": h, "agency_code": a, "message": m, "state": s, "updated_at": at}
                for h, a, m, s, at in notes
            ]
            await execute(self._session, _keep_newest_delivery(dialect_of(self._session)), rows)

    def save(self, row: NoticeProgress) -> None:
        self._session.add(row)

    async def latest_pack_of(self, notice_id: str) -> NoticeProgress | None:
        query = (
            select(NoticeProgress)
            .where(NoticeProgress.notice_id == notice_id)
            .order_by(col(NoticeProgress.updated_at).desc())
            .limit(1)
        )
        return (await self._session.exec(query)).first()

    async def deliveries_of(self, handover_id: str) -> list[NoticeDelivery]:
        query = (
            select(NoticeDelivery)
            .where(NoticeDelivery.handover_id == handover_id)
            .order_by(col(NoticeDelivery.agency_code))
        )
        return list((await self._session.exec(query)).all())


class SqlPublications:
    """When the outbox handed an event to the broker (None: not yet)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def published_at(self, event_id: str) -> datetime | None:
        query = select(OutboxMessage.published_at).where(OutboxMessage.event_id == event_id)
        return (await self._session.exec(query)).first()
