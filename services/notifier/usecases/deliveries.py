"""Use cases of notifier: plan the deliveries of a handover event (once), claim what is due, record attempts
and outcomes (with their events, endpoint state and referral watches in the same transaction)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update

from contracts.delivery import DELIVERY_OUTCOME_SCHEMA, DeliveryOutcomeV1
from contracts.envelope import CloudEvent, EventType, new_event
from services.common import audit
from services.common.clock import Clock
from services.common.db import Database
from services.common.inbox import first_delivery
from services.common.outbox import add_to_outbox
from services.common.topics import DELIVERY_EVENTS
from services.notifier.adapters.tables import Delivery, DeliveryAttempt, DeliveryStatus, EndpointState, EndpointStatus
from services.notifier.domain.agencies import Directory
from services.notifier.domain.distribution import WEBHOOK_EVENT_TYPES, distribution, webhook_payload
from services.notifier.usecases import endpoint_state as endpoints
from services.notifier.usecases import escalations as escalation

log = structlog.get_logger(__name__)

__all__ = ["DELIVERY_OUTCOME_SCHEMA", "DeliveryOutcomeV1", "plan_deliveries", "claim_due", "record_attempt"]

OUTCOME_EVENT_TYPES = {
    DeliveryStatus.DELIVERED: EventType.DELIVERY_SUCCEEDED,
    DeliveryStatus.FAILED: EventType.DELIVERY_FAILED,
    DeliveryStatus.DEAD_LETTERED: EventType.DELIVERY_DEAD_LETTERED,
}


# What an earlier delivery about the same person to the same endpoint may be while a later one waits for it:
# anything but delivered. A delivery that failed for good or was dead-lettered holds the later ones until a
# replay delivers it (a replay keeps its place: its ``seq`` does not change).
HOLDING = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DEAD_LETTERED)


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


async def claim_due(
    *,
    database: Database,
    clock: Clock,
    limit: int,
    lease_seconds: float,
    held: Collection[str] = (),
    capacity: Callable[[str], int | None] | None = None,
) -> list[Delivery]:
    """Reserve due deliveries for this sender (a lease, so replicas never send the same one at once).

    A delivery waits while an earlier one about the same person to the same agency is not yet delivered
    (pending, or failed for good or dead-lettered and waiting for a replay), so that each agency receives a
    person's messages in order and never an amendment or withdrawal of a pack it does not have (``HOLDING``).
    Deliveries to ``held`` agencies (their slots are full, their circuit is open, the directory holds them) and
    to paused endpoints are left where they are, so a slow or dead endpoint never takes the places of others in
    a round; ``capacity`` caps how many one agency gets.
    """
    now = clock.now()
    earlier = aliased(Delivery)
    blocked = exists().where(
        and_(
            earlier.agency_code == Delivery.agency_code,
            earlier.subject == Delivery.subject,
            col(earlier.status).in_([status.value for status in HOLDING]),
            col(earlier.seq) < col(Delivery.seq),
        )
    )
    paused = select(EndpointState.agency_code).where(EndpointState.status == EndpointStatus.PAUSED)
    query = (
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.PENDING)
        .where(col(Delivery.next_attempt_at) <= now)
        .where(or_(col(Delivery.lease_expires_at).is_(None), col(Delivery.lease_expires_at) < now))
        .where(col(Delivery.agency_code).not_in(paused))
        .where(~blocked)
        .order_by(col(Delivery.seq))
        .limit(limit)
    )
    if held:
        query = query.where(col(Delivery.agency_code).not_in(list(held)))
    async with database.transaction() as session:
        candidates = (await session.exec(query)).all()
        taken: dict[str, int] = {}
        claimed: list[Delivery] = []
        for delivery in candidates:
            room = capacity(delivery.agency_code) if capacity else None
            if room is not None and taken.get(delivery.agency_code, 0) >= room:
                continue
            result = await session.exec(  # type: ignore[call-overload]
                update(Delivery)
                .where(col(Delivery.seq) == delivery.seq)
                .where(Delivery.status == DeliveryStatus.PENDING)
                .where(or_(col(Delivery.lease_expires_at).is_(None), col(Delivery.lease_expires_at) < now))
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
            if result.rowcount == 1:
                taken[delivery.agency_code] = taken.get(delivery.agency_code, 0) + 1
                claimed.append(delivery)
    return claimed


def outcome_event(
    delivery: Delivery, status: DeliveryStatus, reason: str | None, source: str, now: datetime, attempts: int
) -> CloudEvent:
    return new_event(
        type=OUTCOME_EVENT_TYPES[status],
        source=source,
        subject=delivery.subject,
        dataschema=DELIVERY_OUTCOME_SCHEMA,
        data=DeliveryOutcomeV1(
            webhook_id=delivery.webhook_id,
            source_event_id=delivery.source_event_id,
            event_type=delivery.event_type,
            handover_id=delivery.handover_id,
            agency_code=delivery.agency_code,
            status=status.value,
            attempts=attempts,
            reason=reason,
            replays=delivery.replays,
        ),
        correlation_id=delivery.correlation_id,
        time=now,
    )


@dataclass(frozen=True)
class RoundEffects:
    """What a round means beyond the delivery itself, applied in the same transaction."""

    endpoint: endpoints.EndpointEffect | None = None
    agency_kind: str | None = None  # set when delivered: decides whether a referral watch starts


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
    effects: RoundEffects | None = None,
) -> None:
    """Store the attempts of one round and where the delivery now stands, with its outcome event if final,
    the endpoint's state, and (when a referral is delivered) the watch that escalates it if unanswered."""
    now = clock.now()
    effects = effects or RoundEffects()
    async with database.transaction() as session:
        for attempted_at, result in attempts:
            session.add(
                DeliveryAttempt(
                    delivery_seq=delivery.seq,  # type: ignore[arg-type]
                    attempted_at=attempted_at,
                    status_code=result.status_code,
                    latency_ms=result.latency_ms,
                    error=result.error[:500] if result.error else None,
                    response_excerpt=result.response_excerpt[:500] if result.response_excerpt else None,
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
                rounds=delivery.rounds + 1 if attempts else delivery.rounds,
                next_attempt_at=next_attempt_at,
                lease_expires_at=None,
                last_error=reason[:500] if reason else None,
                finished_at=now if finished else None,
            )
        )
        if effects.endpoint is not None:
            await endpoints.apply_effect(
                session,
                agency_code=delivery.agency_code,
                effect=effects.endpoint,
                now=now,
                webhook_id=delivery.webhook_id,
            )
        if final_status == DeliveryStatus.DELIVERED and effects.agency_kind:
            await escalation.watch_if_referral(session, delivery=delivery, agency_kind=effects.agency_kind, now=now)
        if finished and delivery.replays:
            await endpoints.audit(
                session,
                action=f"replay_{final_status.value}",
                actor=endpoints.NOTIFIER,
                now=now,
                agency_code=delivery.agency_code,
                webhook_id=delivery.webhook_id,
                handover_id=delivery.handover_id,
                detail=reason,
                subject=delivery.subject,
            )
        if finished:
            add_to_outbox(
                session,
                topic=DELIVERY_EVENTS,
                event=outcome_event(delivery, final_status, reason, source, now, total),
                clock=clock,
            )
            await audit.record(
                session,
                audit.AuditEntry.system(
                    "notifier",
                    action="delivery.finished",
                    resource_type="delivery",
                    resource_id=delivery.webhook_id,
                    subject=delivery.subject,
                    outcome=final_status.value,
                    correlation_id=delivery.correlation_id,
                    details={
                        "agency_code": delivery.agency_code,
                        "handover_id": delivery.handover_id,
                        "event_type": delivery.event_type,
                        "attempts": total,
                        "reason": reason,
                    },
                ),
                now,
            )


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def compact_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


async def deliveries_of(*, database: Database, handover_id: str) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    async with database.session() as session:
        deliveries = (
            await session.exec(select(Delivery).where(Delivery.handover_id == handover_id).order_by(col(Delivery.seq)))
        ).all()
        return [(delivery, await _attempts(session, delivery)) for delivery in deliveries]


async def delivery_by_webhook_id(
    *, database: Database, webhook_id: str
) -> tuple[Delivery, list[DeliveryAttempt]] | None:
    async with database.session() as session:
        delivery = (await session.exec(select(Delivery).where(Delivery.webhook_id == webhook_id))).first()
        return None if delivery is None else (delivery, await _attempts(session, delivery))


async def _attempts(session: Any, delivery: Delivery) -> list[DeliveryAttempt]:
    found = await session.exec(
        select(DeliveryAttempt).where(DeliveryAttempt.delivery_seq == delivery.seq).order_by(col(DeliveryAttempt.id))
    )
    return list(found.all())
