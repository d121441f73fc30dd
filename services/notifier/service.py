"""Use cases of notifier: plan the deliveries of a handover event (once), record attempts and outcomes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from pydantic import BaseModel
from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update

from contracts.envelope import CloudEvent, EventType, new_event, schema_uri
from services.common import audit
from services.common.clock import Clock
from services.common.db import Database
from services.common.inbox import first_delivery
from services.common.outbox import add_to_outbox
from services.common.topics import DELIVERY_EVENTS
from services.notifier.directory import Directory
from services.notifier.models import Delivery, DeliveryAttempt, DeliveryStatus
from services.notifier.routing import WEBHOOK_EVENT_TYPES, distribution, webhook_payload

log = structlog.get_logger(__name__)

DELIVERY_OUTCOME_SCHEMA = schema_uri("delivery-outcome", "1.0")


class DeliveryOutcomeV1(BaseModel):
    webhook_id: str
    source_event_id: str
    handover_id: str | None
    agency_code: str
    status: str
    attempts: int
    reason: str | None = None


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


async def plan_deliveries(*, database: Database, event: CloudEvent, directory: Directory, clock: Clock) -> int:
    """Create one pending delivery per entry of a handover event's distribution; none twice for one event."""
    entries = distribution(event)
    webhook_type = WEBHOOK_EVENT_TYPES[event.type]
    handover_id = event.data.get("handover_id")
    now = clock.now()
    async with database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=now):
            return 0
        for entry in entries:
            if directory.by_code(entry["agency_code"]) is None:
                log.warning("deliveries.agency_without_endpoint", agency=entry["agency_code"])
            payload = webhook_payload(event_type=webhook_type, entry=entry, at=now)
            session.add(
                Delivery(
                    webhook_id=f"msg_{uuid.uuid4().hex}",
                    source_event_id=event.id,
                    event_type=webhook_type,
                    agency_code=entry["agency_code"],
                    subject=event.subject or "",
                    handover_id=handover_id,
                    payload=json.dumps(payload, separators=(",", ":")),
                    correlation_id=event.correlationid,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    log.info("deliveries.planned", handover_id=handover_id, agencies=[e["agency_code"] for e in entries])
    if not entries:
        log.warning("deliveries.no_recipient", handover_id=handover_id)
    return len(entries)


async def claim_due(*, database: Database, clock: Clock, limit: int, lease_seconds: float) -> list[Delivery]:
    """Reserve due deliveries for this sender. A delivery waits while an earlier one about the same person
    to the same agency is still pending, so that each agency receives a person's messages in order."""
    now = clock.now()
    earlier = aliased(Delivery)
    blocked = exists().where(
        and_(
            earlier.agency_code == Delivery.agency_code,
            earlier.subject == Delivery.subject,
            earlier.status == DeliveryStatus.PENDING,
            col(earlier.seq) < col(Delivery.seq),
        )
    )
    async with database.transaction() as session:
        candidates = (
            await session.exec(
                select(Delivery)
                .where(Delivery.status == DeliveryStatus.PENDING)
                .where(col(Delivery.next_attempt_at) <= now)
                .where(or_(col(Delivery.lease_expires_at).is_(None), col(Delivery.lease_expires_at) < now))
                .where(~blocked)
                .order_by(col(Delivery.seq))
                .limit(limit)
            )
        ).all()
        claimed: list[Delivery] = []
        for delivery in candidates:
            result = await session.exec(  # type: ignore[call-overload]
                update(Delivery)
                .where(col(Delivery.seq) == delivery.seq)
                .where(or_(col(Delivery.lease_expires_at).is_(None), col(Delivery.lease_expires_at) < now))
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
            if result.rowcount == 1:
                claimed.append(delivery)
    return claimed


def _outcome_event(delivery: Delivery, status: DeliveryStatus, reason: str | None, source: str, now: datetime,
                   attempts: int) -> CloudEvent:
    kind = EventType.DELIVERY_SUCCEEDED if status == DeliveryStatus.DELIVERED else EventType.DELIVERY_FAILED
    return new_event(
        type=kind,
        source=source,
        subject=delivery.subject,
        dataschema=DELIVERY_OUTCOME_SCHEMA,
        data=DeliveryOutcomeV1(
            webhook_id=delivery.webhook_id,
            source_event_id=delivery.source_event_id,
            handover_id=delivery.handover_id,
            agency_code=delivery.agency_code,
            status=status.value,
            attempts=attempts,
            reason=reason,
        ),
        correlation_id=delivery.correlation_id,
        time=now,
    )


async def record_attempt(
    *,
    database: Database,
    delivery: Delivery,
    attempts: list[tuple[datetime, AttemptResult]],
    final_status: DeliveryStatus,
    next_attempt_at: datetime | None,
    reason: str | None,
    clock: Clock,
    source: str,
) -> None:
    """Store the attempts of one round and where the delivery now stands, with its outcome event if final."""
    now = clock.now()
    async with database.transaction() as session:
        for attempted_at, result in attempts:
            session.add(
                DeliveryAttempt(
                    delivery_seq=delivery.seq,  # type: ignore[arg-type]
                    attempted_at=attempted_at,
                    status_code=result.status_code,
                    latency_ms=result.latency_ms,
                    error=result.error,
                    response_excerpt=result.response_excerpt,
                )
            )
        total = delivery.attempt_count + len(attempts)
        finished = final_status != DeliveryStatus.PENDING
        await session.exec(  # type: ignore[call-overload]
            update(Delivery)
            .where(col(Delivery.seq) == delivery.seq)
            .values(
                status=final_status,
                attempt_count=total,
                rounds=delivery.rounds + 1,
                next_attempt_at=next_attempt_at,
                lease_expires_at=None,
                last_error=reason,
                finished_at=now if finished else None,
            )
        )
        if finished:
            add_to_outbox(
                session,
                topic=DELIVERY_EVENTS,
                event=_outcome_event(delivery, final_status, reason, source, now, total),
                clock=clock,
            )
            await audit.record(session, audit.AuditEntry.system(
                "notifier", action="delivery.finished", resource_type="delivery",
                resource_id=delivery.webhook_id,
                subject=delivery.subject, outcome=final_status.value, correlation_id=delivery.correlation_id,
                details={"agency_code": delivery.agency_code, "handover_id": delivery.handover_id,
                         "event_type": delivery.event_type, "attempts": total, "reason": reason},
            ), now)


async def deliveries_of(*, database: Database, handover_id: str) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    async with database.session() as session:
        deliveries = (
            await session.exec(select(Delivery).where(Delivery.handover_id == handover_id).order_by(col(Delivery.seq)))
        ).all()
        result = []
        for delivery in deliveries:
            attempts = (
                await session.exec(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_seq == delivery.seq)
                    .order_by(col(DeliveryAttempt.id))
                )
            ).all()
            result.append((delivery, list(attempts)))
    return result
