"""Idempotent inbox: a consumer records each event id in the same transaction as the event's effect.

Kafka delivers at least once; an event whose id is already in the inbox is skipped, so each effect is
applied exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, bindparam
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import UtcDateTime


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=200)
    processed_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


# Built once: every event every consumer applies asks it first.
_SEEN = select(InboxEntry.event_id).where(InboxEntry.event_id == bindparam("event_id"))


async def first_delivery(session: AsyncSession, *, event_id: str, event_type: str, now: datetime) -> bool:
    """Record ``event_id`` as processed; False when it already was (the caller then applies nothing).

    A concurrent duplicate (two replicas during a rebalance) fails at commit on the primary key, which
    rolls the whole effect back; the consumer then sees it as already applied on retry.
    """
    if (await session.execute(_SEEN, {"event_id": event_id})).first():
        return False
    session.add(InboxEntry(event_id=event_id, event_type=event_type, processed_at=now))
    return True
