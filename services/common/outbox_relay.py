"""The outbox relay: publishes stored events to Kafka in the order they were written, and publishes them
again when the broker lost them.

Before each batch the relay asks the broker for its cluster id; now and then (and after any failure) it also
compares each partition's high-water mark with how far it wrote there. A changed cluster id (a new, empty
broker) or a mark below what was written (a topic deleted and created again) takes the lost rows back
(``services/common/outbox_recovery.py``); they are published again ahead of anything newer. Each such
republication is logged as ``outbox.republished`` (a warning an operator can alert on, with counts only) and
recorded in the service's audit trail.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.structs import RecordMetadata
from sqlalchemy import bindparam, text
from sqlalchemy import update as core_update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import audit
from services.common.broker_probe import BrokerProbe
from services.common.clock import Clock, SystemClock
from services.common.db import Database, table_of
from services.common.outbox import OutboxMessage, kafka_headers
from services.common.outbox_recovery import (
    Republication,
    forget_marks,
    remember_cluster,
    remembered_cluster,
    set_mark,
    take_back,
    written_marks,
)
from services.common.topics import ensure_topics

log = structlog.get_logger(__name__)

# Any fixed number: the PostgreSQL advisory lock that makes one relay replica the active one.
RELAY_LOCK_KEY = 7_301_884_112

_MARK_PUBLISHED = (
    core_update(table_of(OutboxMessage))
    .where(table_of(OutboxMessage).c.id == bindparam("row_id"))
    .values(published_at=bindparam("at"), kafka_partition=bindparam("partition"), kafka_offset=bindparam("offset"))
)


class OutboxRelay:
    """Publishes unpublished outbox rows in id order, in batches; one active relay per database."""

    def __init__(
        self,
        *,
        database: Database,
        producer: AIOKafkaProducer,
        probe: BrokerProbe | None = None,
        service: str = "service",
        batch_size: int = 500,
        idle_seconds: float = 0.5,
        replay_window: timedelta = timedelta(days=30),
        check_seconds: float = 5.0,
        topic_partitions: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._database = database
        self._producer = producer
        self._probe = probe
        self._service = service
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._replay_window = replay_window
        self._check_seconds = check_seconds
        self._topic_partitions = topic_partitions
        self._clock = clock or SystemClock()
        self._wakeup = asyncio.Event()
        self._postgres = database.engine.dialect.name == "postgresql"
        self._marks_checked_at: float | None = None  # None: compare high-water marks before the next batch

    def wake(self) -> None:
        """Tell the relay that a transaction just committed outbox rows, so it need not wait to poll."""
        self._wakeup.set()

    async def run(self) -> None:
        backoff = 0.1
        try:
            while True:
                try:
                    published = await self.publish_pending()
                    backoff = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # broker or database unavailable: keep the rows, try again
                    log.warning("outbox.publish_failed", error=type(error).__name__, retry_in=backoff)
                    self._marks_checked_at = None  # the broker may come back as another one
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published < self._batch_size:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
                    # arrives as the event is set (a last outcome waking the relay at stop), and the loop
                    # would outlive the process's stop.
                    try:
                        async with asyncio.timeout(self._idle_seconds):
                            await self._wakeup.wait()
                    except TimeoutError:
                        pass
                    self._wakeup.clear()
        finally:
            if self._probe is not None:
                await self._probe.close()

    async def publish_pending(self) -> int:
        """Publish one batch (after checking the broker still holds what was published); returns how many
        rows it published."""
        async with self._database.transaction() as session:
            if self._postgres:
                locked = await session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=RELAY_LOCK_KEY)
                )
                if not locked.scalar():
                    return 0
            rows = await self._pending(session)
            if self._probe is not None and (rows or self._marks_due()):
                if await self._check_broker(session, compare_marks=self._marks_due()):
                    rows = await self._pending(session)
            if not rows:
                return 0
            deliveries = [
                await self._producer.send(
                    row.topic, value=row.payload.encode(), key=row.key.encode(), headers=kafka_headers(row)
                )
                for row in rows
            ]
            placed: list[RecordMetadata] = list(await asyncio.gather(*deliveries))
            await self._record_placement(session, rows, placed)
        for row in rows:
            log.info("outbox.published", event_id=row.event_id, topic=row.topic, correlation_id=row.correlation_id)
        return len(rows)

    async def _pending(self, session: AsyncSession) -> list[OutboxMessage]:
        return list(
            (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.published_at).is_(None))
                    .order_by(col(OutboxMessage.id))
                    .limit(self._batch_size)
                )
            ).all()
        )

    def _marks_due(self) -> bool:
        loop_time = asyncio.get_running_loop().time()
        return self._marks_checked_at is None or loop_time - self._marks_checked_at >= self._check_seconds

    async def _check_broker(self, session: AsyncSession, *, compare_marks: bool) -> bool:
        """Take back what the broker no longer holds; True when rows were taken back."""
        assert self._probe is not None
        now = self._clock.now()
        since = now - self._replay_window
        current = await self._probe.cluster_id()
        known = await remembered_cluster(session)
        taken: list[Republication] = []
        if known != current:
            await remember_cluster(session, current, now)
            if known is not None:
                await forget_marks(session)
                await self._ensure_topics(session)
                taken.append(
                    Republication(
                        "broker_replaced",
                        await take_back(session, since=since),
                        {"previous_cluster_id": known, "cluster_id": current},
                    )
                )
        elif compare_marks:
            marks = await written_marks(session)
            ends = await self._probe.end_offsets(list(marks))
            for partition, mark in sorted(marks.items()):
                end = ends.get(partition)
                if end is not None and end <= mark.last_batch_from:
                    await set_mark(session, partition, batch_from=end, written_until=end)
                    taken.append(
                        Republication(
                            "partition_behind_outbox",
                            await take_back(session, since=since, partition=partition, from_offset=end),
                            {
                                "topic": partition.topic,
                                "partition": partition.partition,
                                "written_until": mark.written_until,
                                "high_water_mark": end,
                            },
                        )
                    )
        if compare_marks:
            self._marks_checked_at = asyncio.get_running_loop().time()
        for republication in taken:
            await self._report(session, republication)
        return any(republication.rows for republication in taken)

    async def _ensure_topics(self, session: AsyncSession) -> None:
        """A new broker may not have the topics yet; create them before publishing anything to it."""
        if self._topic_partitions is None:
            return
        topics = (await session.exec(select(OutboxMessage.topic).distinct())).all()
        if topics and self._probe is not None:
            await ensure_topics(self._probe.bootstrap_servers, list(topics), self._topic_partitions)

    async def _record_placement(
        self, session: AsyncSession, rows: list[OutboxMessage], placed: list[RecordMetadata]
    ) -> None:
        """Mark rows published with their partition and offset; a partition whose offsets went back (it lost
        records under the same cluster id) has its earlier rows taken back."""
        now = self._clock.now()
        marks = await written_marks(session)
        reached: dict[TopicPartition, tuple[int, int]] = {}  # lowest and highest offset of this batch
        for metadata in placed:
            partition = TopicPartition(metadata.topic, metadata.partition)
            low, high = reached.get(partition, (metadata.offset, metadata.offset))
            reached[partition] = (min(low, metadata.offset), max(high, metadata.offset))
        for partition, (low, high) in sorted(reached.items()):
            mark = marks.get(partition)
            written = mark.written_until if mark else None
            if written is not None and low < written:
                republication = Republication(
                    "partition_offsets_went_back",
                    await take_back(session, since=now - self._replay_window, partition=partition),
                    {
                        "topic": partition.topic,
                        "partition": partition.partition,
                        "written_until": written,
                        "offset": low,
                    },
                )
                await self._report(session, republication)
            await set_mark(session, partition, batch_from=low, written_until=high + 1)
        connection = await session.connection()
        await connection.execute(
            _MARK_PUBLISHED,
            [
                {"row_id": row.id, "at": now, "partition": metadata.partition, "offset": metadata.offset}
                for row, metadata in zip(rows, placed, strict=True)
            ],
        )

    async def _report(self, session: AsyncSession, republication: Republication) -> None:
        if not republication.rows and republication.reason != "broker_replaced":
            return
        log.warning(
            "outbox.republished",
            reason=republication.reason,
            rows=republication.rows,
            by_topic=republication.by_topic,
            replay_window_hours=self._replay_window.total_seconds() / 3600,
            **republication.details,
        )
        await audit.record(
            session,
            audit.AuditEntry.system(
                self._service,
                action="outbox.republished",
                resource_type="outbox",
                details={
                    "reason": republication.reason,
                    "rows": republication.rows,
                    "by_topic": republication.by_topic,
                    **republication.details,
                },
            ),
            self._clock.now(),
        )
