"""Idempotent inbox: a consumer records each event id in the same transaction as the event's effect.

Kafka delivers at least once; an event whose id is already in the inbox is skipped, so each effect is
applied exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import CloudEvent
from services.common.db import UtcDateTime
from services.common.sql import dialect_of, execute, insert_ignore, insert_ignoring


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=200)
    processed_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


async def first_delivery(session: AsyncSession, *, event_id: str, event_type: str, now: datetime) -> bool:
    """Record ``event_id`` as processed; False when it already was (the caller then applies nothing).

    One insert that skips a row already there (every event every consumer applies asks it first, so no read
    before it and no ORM object). A concurrent duplicate (two replicas during a rebalance) waits on PostgreSQL for
    the first one's transaction: once it commits, this one is skipped; if it rolls back, this one applies.
    """
    values = {"event_id": event_id, "event_type": event_type, "processed_at": now}
    return await insert_ignore(session, InboxEntry, values)


async def first_deliveries(session: AsyncSession, events: Sequence[tuple[str, str]], now: datetime) -> set[str]:
    """``first_delivery`` of many events (``(event_id, event_type)``) in one statement: the ids recorded now, the
    ones to apply (an id given twice is recorded, and returned, once)."""
    if not events:
        return set()
    rows = [{"event_id": event_id, "event_type": event_type, "processed_at": now} for event_id, event_type in events]
    statement = insert_ignoring(InboxEntry, dialect_of(session), frozenset(rows[0]))
    return {str(row[0]) for row in await execute(session, statement, rows)}


def once_each(events: Sequence[CloudEvent], first: set[str]) -> list[CloudEvent]:
    """The events whose ids are in ``first`` (recorded now), in order; an event there twice (the broker delivered
    it again within one run) only the first time."""
    left, fresh = set(first), []
    for event in events:
        if event.id in left:
            left.remove(event.id)
            fresh.append(event)
    return fresh
