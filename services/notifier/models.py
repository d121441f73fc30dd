"""Tables of notifier: one durable delivery per (message, agency), and every attempt made for it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.db import UtcDateTime


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("source_event_id", "agency_code", name="uq_delivery_message_agency"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_person", "agency_code", "subject", "seq"),
    )

    seq: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    webhook_id: str = Field(max_length=64, unique=True, description="Standard Webhooks id, stable across retries")
    source_event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=100)
    agency_code: str = Field(max_length=20)
    subject: str = Field(max_length=20, description="Prison number: messages about one person go in order")
    handover_id: str | None = Field(default=None, max_length=36, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    correlation_id: str | None = Field(default=None, max_length=64)
    status: DeliveryStatus = Field(sa_type=String(20))
    attempt_count: int = Field(default=0, description="HTTP attempts made, in-process retries included")
    rounds: int = Field(default=0, description="Scheduled rounds made; indexes the retry schedule")
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))
    delivery_seq: int = Field(foreign_key="delivery.seq", index=True)
    attempted_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    status_code: int | None = None
    latency_ms: int
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, max_length=500)
