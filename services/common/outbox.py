"""Transactional outbox: an event is stored in the same transaction as the change that implies it, then a
relay (``services/common/outbox_relay.py``) publishes stored events to Kafka in the order they were written.

Rows are kept after publication (``published_at`` set, with the partition and offset they got) so that a topic
can be rebuilt or replayed from them. A relay that dies between publishing and marking publishes again on
restart: consumers de-duplicate with their inbox, so the effect is still applied once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, Text, event, insert, text
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from services.common.clock import Clock
from services.common.db import UtcDateTime, table_of
from services.common.tracing import with_trace_context


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
    kafka_partition: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    kafka_offset: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


_STAGED = "outbox.staged"  # the session's staged rows (a tuple, so a savepoint's snapshot of it stays as it was)


def add_to_outbox(session: AsyncSession, *, topic: str, event: CloudEvent, clock: Clock) -> None:
    """Stage ``event`` for publication; it is published only if the surrounding transaction commits. It carries
    the current trace context, so whoever consumes it continues the trace.

    The row is staged on the session, not added as an ORM object: every staged row of the transaction is
    inserted in one statement just before it commits (:func:`_insert_staged`). Building and flushing an ORM
    object per event was a tenth of a consumer's time. A savepoint that is rolled back drops what it staged
    with the rest of its work (``Database.transaction`` restores the session's ``info``)."""
    row = outbox_row(topic, with_trace_context(event), clock.now())
    session.info[_STAGED] = (*session.info.get(_STAGED, ()), row)


def outbox_row(topic: str, event: CloudEvent, created_at: datetime) -> dict[str, Any]:
    """The row that publishes ``event`` on ``topic``: keyed by its partition key (else subject, else id), so that
    one person's events keep their order."""
    return {
        "event_id": event.id,
        "topic": topic,
        "key": event.partitionkey or event.subject or event.id,
        "event_type": event.type,
        "payload": event.model_dump_json(exclude_none=True),
        "correlation_id": event.correlationid,
        "created_at": created_at,
    }


_INSERT = insert(table_of(OutboxMessage))


@event.listens_for(Session, "before_commit")
def _insert_staged(session: Session) -> None:
    """The transaction's staged rows, in the order they were staged (the relay publishes by id), in one
    statement; a savepoint's release leaves them staged for the whole transaction."""
    if session.in_nested_transaction():
        return
    staged: tuple[dict[str, Any], ...] = session.info.pop(_STAGED, ())
    if staged:
        session.connection().execute(_INSERT, list(staged))


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_STAGED, None)


def outbox_message(topic: str, event: CloudEvent, created_at: datetime) -> OutboxMessage:
    """:func:`outbox_row` as an ORM object (tests, and rows written outside a unit of work)."""
    return OutboxMessage(**outbox_row(topic, event, created_at))


def kafka_headers(message: OutboxMessage) -> list[tuple[str, bytes]]:
    headers = [("content-type", STRUCTURED_CONTENT_TYPE.encode()), ("ce_type", message.event_type.encode())]
    if message.correlation_id:
        headers.append(("correlation-id", message.correlation_id.encode()))
    return headers


def __getattr__(name: str) -> Any:
    """``OutboxRelay`` lived here first; it moved to its own module, which imports this one."""
    if name == "OutboxRelay":
        from services.common.outbox_relay import OutboxRelay

        return OutboxRelay
    raise AttributeError(name)
