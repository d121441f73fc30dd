"""Transactional outbox: an event is stored in the same transaction as the change that implies it, then a
relay publishes stored events to Kafka in the order they were written.

Rows are kept after publication (``published_at`` set) so that a topic can be rebuilt or replayed from them.
A relay that dies between publishing and marking publishes again on restart: consumers de-duplicate with
their inbox, so the effect is still applied once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, Column, Index, Integer, Text, text
from sqlmodel import Field, SQLModel, col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from services.common.clock import Clock, SystemClock
from services.common.db import Database, UtcDateTime

log = structlog.get_logger(__name__)

# Any fixed number: the PostgreSQL advisory lock that makes one relay replica the active one.
_RELAY_LOCK_KEY = 7_301_884_112


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    event_id: str = Field(max_length=64, unique=True)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    event_type: str = Field(max_length=200)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    correlation_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))


def add_to_outbox(session: AsyncSession, *, topic: str, event: CloudEvent, clock: Clock) -> OutboxMessage:
    """Stage ``event`` for publication; it is published only if the surrounding transaction commits."""
    message = OutboxMessage(
        event_id=event.id,
        topic=topic,
        key=event.partitionkey or event.subject or event.id,
        event_type=event.type,
        payload=event.model_dump_json(exclude_none=True),
        correlation_id=event.correlationid,
        created_at=clock.now(),
    )
    session.add(message)
    return message


def kafka_headers(message: OutboxMessage) -> list[tuple[str, bytes]]:
    headers = [("content-type", STRUCTURED_CONTENT_TYPE.encode()), ("ce_type", message.event_type.encode())]
    if message.correlation_id:
        headers.append(("correlation-id", message.correlation_id.encode()))
    return headers


class OutboxRelay:
    """Publishes unpublished outbox rows in id order, in batches; one active relay per database."""

    def __init__(
        self,
        *,
        database: Database,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        idle_seconds: float = 0.5,
        clock: Clock | None = None,
    ) -> None:
        self._database = database
        self._producer = producer
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._clock = clock or SystemClock()
        self._wakeup = asyncio.Event()
        self._postgres = database.engine.dialect.name == "postgresql"

    def wake(self) -> None:
        """Tell the relay that a transaction just committed outbox rows, so it need not wait to poll."""
        self._wakeup.set()

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                published = await self.publish_pending()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # broker or database unavailable: keep the rows, try again
                log.warning("outbox.publish_failed", error=type(error).__name__, retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published < self._batch_size:
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self._idle_seconds)
                except TimeoutError:
                    pass
                self._wakeup.clear()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it published."""
        async with self._database.transaction() as session:
            if self._postgres:
                locked = await session.exec(  # type: ignore[call-overload]
                    text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=_RELAY_LOCK_KEY)
                )
                if not locked.scalar():
                    return 0
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.published_at).is_(None))
                    .order_by(col(OutboxMessage.id))
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            deliveries = [
                await self._producer.send(
                    row.topic, value=row.payload.encode(), key=row.key.encode(), headers=kafka_headers(row)
                )
                for row in rows
            ]
            await asyncio.gather(*deliveries)
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_([row.id for row in rows]))
                .values(published_at=self._clock.now())
            )  # type: ignore[call-overload]
        for row in rows:
            log.info("outbox.published", event_id=row.event_id, topic=row.topic, correlation_id=row.correlation_id)
        return len(rows)


def event_from_payload(payload: str) -> dict[str, Any]:
    return json.loads(payload)  # type: ignore[no-any-return]
