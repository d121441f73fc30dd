"""What the outbox relay remembers of the broker, and how it takes back rows the broker lost.

The relay records where each row landed (partition, offset), how far it has written on each partition, and
the id of the cluster it wrote to. A broker whose cluster id changed, or a partition whose high-water mark is
below what the relay wrote, no longer holds those rows: they are marked unpublished again (``published_at``
cleared) and the relay publishes them once more, in their original order, before anything newer. Consumers'
inboxes discard the copies they already applied.

Only rows published within the replay window are taken back: the window matches the topics' retention, so
the outbox restores what the lost topic would still have held; older rows had already left the topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import TopicPartition
from sqlalchemy import BigInteger, Column, Integer, func
from sqlmodel import Field, SQLModel, col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import UtcDateTime
from services.common.outbox import OutboxMessage

BROKER = "kafka"


class OutboxBroker(SQLModel, table=True):
    """The cluster the relay last published to."""

    __tablename__ = "outbox_broker"

    name: str = Field(primary_key=True, max_length=64)
    cluster_id: str = Field(max_length=200)
    seen_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class OutboxPartition(SQLModel, table=True):
    """How far the relay has written on one partition: the offset after the last row it placed there, and
    the first offset of the last batch it wrote there.

    A partition is behind the outbox when its high-water mark is at or below ``last_batch_from``: the embedded
    broker (Tansu 0.6) reports the base offset of its last record batch plus one as the high-water mark, not
    the offset after its last record, so only the start of the last batch is a mark both brokers honour.
    """

    __tablename__ = "outbox_partition"

    topic: str = Field(primary_key=True, max_length=200)
    kafka_partition: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    written_until: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_batch_from: int = Field(sa_column=Column(BigInteger, nullable=False))


@dataclass
class Republication:
    """Rows taken back for publishing again, and why (for the log line and the audit record)."""

    reason: str
    by_topic: dict[str, int] = field(default_factory=dict)
    details: dict[str, str | int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.by_topic.values())


async def remembered_cluster(session: AsyncSession) -> str | None:
    known = await session.get(OutboxBroker, BROKER)
    return known.cluster_id if known else None


async def remember_cluster(session: AsyncSession, cluster_id: str, now: datetime) -> None:
    known = await session.get(OutboxBroker, BROKER)
    if known is None:
        session.add(OutboxBroker(name=BROKER, cluster_id=cluster_id, seen_at=now))
    else:
        known.cluster_id, known.seen_at = cluster_id, now
        session.add(known)
    await session.flush()


async def written_marks(session: AsyncSession) -> dict[TopicPartition, OutboxPartition]:
    rows = (await session.exec(select(OutboxPartition))).all()
    return {TopicPartition(row.topic, row.kafka_partition): row for row in rows}


async def set_mark(session: AsyncSession, partition: TopicPartition, *, batch_from: int, written_until: int) -> None:
    mark = await session.get(OutboxPartition, (partition.topic, partition.partition))
    if mark is None:
        mark = OutboxPartition(
            topic=partition.topic,
            kafka_partition=partition.partition,
            written_until=written_until,
            last_batch_from=batch_from,
        )
    else:
        mark.written_until, mark.last_batch_from = written_until, batch_from
    session.add(mark)
    await session.flush()


async def forget_marks(session: AsyncSession) -> None:
    await session.exec(delete(OutboxPartition))


async def take_back(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime | None = None,
    partition: TopicPartition | None = None,
    from_offset: int = 0,
) -> dict[str, int]:
    """Mark rows published since ``since`` (and before ``until``, when given) unpublished again: every such row,
    or those of one partition at or after ``from_offset``. Returns how many per topic."""
    conditions = [col(OutboxMessage.published_at).is_not(None), col(OutboxMessage.published_at) >= since]
    if until is not None:
        conditions.append(col(OutboxMessage.published_at) < until)
    if partition is not None:
        conditions += [
            col(OutboxMessage.topic) == partition.topic,
            col(OutboxMessage.kafka_partition) == partition.partition,
            col(OutboxMessage.kafka_offset) >= from_offset,
        ]
    counts = (
        await session.exec(
            select(OutboxMessage.topic, func.count()).where(*conditions).group_by(col(OutboxMessage.topic))
        )
    ).all()
    if counts:
        await session.exec(
            update(OutboxMessage).where(*conditions).values(published_at=None, kafka_partition=None, kafka_offset=None)
        )
    return {topic: int(count) for topic, count in counts}
