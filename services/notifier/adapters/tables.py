"""Tables of notifier: one durable delivery per (message, agency) and every attempt made for it; the state of
each endpoint; the audit trail of what operators and the notifier did; what escalation needs to know."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.db import UtcDateTime
from services.notifier.domain.states import DeliveryStatus, EndpointStatus
from services.notifier.domain.verdict import AttemptResult

# 64-bit ids on PostgreSQL; SQLite autoincrements only an INTEGER primary key.
_ID = BigInteger().with_variant(Integer, "sqlite")


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("source_event_id", "agency_code", name="uq_delivery_message_agency"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_person", "agency_code", "subject", "seq"),
        # A claim finds the agencies with pending deliveries and each one's first in order through this index.
        Index("ix_delivery_waiting", "status", "agency_code", "seq"),
    )

    seq: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
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
    replays: int = Field(default=0, description="How often an operator replayed it after it was dead-lettered")
    traceparent: str | None = Field(default=None, max_length=55, description="W3C trace context of its event")


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    delivery_seq: int = Field(foreign_key="delivery.seq", index=True)
    attempted_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    status_code: int | None = None
    latency_ms: int
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, max_length=500)

    @classmethod
    def of(cls, delivery_seq: int, attempted_at: datetime, result: AttemptResult) -> DeliveryAttempt:
        return cls(**attempt_row(delivery_seq, attempted_at, result))


def attempt_row(delivery_seq: int, attempted_at: datetime, result: AttemptResult) -> dict[str, Any]:
    """The row of one attempt, its texts cut to what the columns hold."""
    return {
        "delivery_seq": delivery_seq,
        "attempted_at": attempted_at,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "error": result.error[:500] if result.error else None,
        "response_excerpt": result.response_excerpt[:500] if result.response_excerpt else None,
    }


class EndpointState(SQLModel, table=True):
    """What the notifier knows about one agency's endpoint, across restarts and replicas."""

    __tablename__ = "endpoint_state"

    agency_code: str = Field(primary_key=True, max_length=20)
    status: EndpointStatus = Field(sa_type=String(20))
    reason: str | None = Field(default=None, max_length=500)
    changed_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    failing_since: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))


class DeliveryAudit(SQLModel, table=True):
    """Append-only record of what was done to deliveries and endpoints, by whom (replays, pauses, escalations)."""

    __tablename__ = "delivery_audit"

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    action: str = Field(max_length=50)
    actor: str = Field(max_length=100)
    agency_code: str | None = Field(default=None, max_length=20, index=True)
    webhook_id: str | None = Field(default=None, max_length=64, index=True)
    handover_id: str | None = Field(default=None, max_length=36)
    detail: str | None = Field(default=None, max_length=1000)


class HandoverFact(SQLModel, table=True):
    """What escalation needs from a pack event: where the person is released from, when, and to which area."""

    __tablename__ = "handover_fact"

    handover_id: str = Field(primary_key=True, max_length=36)
    subject: str = Field(max_length=20)
    establishment_code: str | None = Field(default=None, max_length=10)
    release_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    district: str | None = Field(default=None, max_length=10)
    local_authority: str | None = Field(default=None, max_length=200)
    withdrawn: bool = False
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class ReferralWatch(SQLModel, table=True):
    """One referral awaiting its agency's answer: created when delivered (or when an answer comes first)."""

    __tablename__ = "referral_watch"
    __table_args__ = (UniqueConstraint("handover_id", "agency_code", name="uq_referral_watch"),)

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True))
    handover_id: str = Field(max_length=36)
    agency_code: str = Field(max_length=20)
    agency_kind: str | None = Field(default=None, max_length=50)
    subject: str | None = Field(default=None, max_length=20)
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    answer: str | None = Field(default=None, max_length=20)
    settled: bool = Field(default=False, description="Every deadline escalated, or the handover withdrawn")


class Escalation(SQLModel, table=True):
    """One escalation of one referral for one deadline; the unique key makes it happen once."""

    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("handover_id", "agency_code", "deadline", name="uq_escalation_once"),)

    id: str = Field(primary_key=True, max_length=64)
    handover_id: str = Field(max_length=36, index=True)
    agency_code: str = Field(max_length=20)
    deadline: str = Field(max_length=20)
    due_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    escalated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    told: str = Field(max_length=500, description="Comma-separated agency codes the escalation went to")


class DirectoryEndpoint(SQLModel, table=True):
    """The notifier's copy of one agency of the directory (``record``: the directory.agency.changed data)."""

    __tablename__ = "directory_endpoint"

    code: str = Field(primary_key=True, max_length=20)
    revision: int = Field(description="The highest revision applied; older and repeated events are ignored")
    record: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
