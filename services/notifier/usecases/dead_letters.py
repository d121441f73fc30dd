"""Dead letters: deliveries that did not arrive, whether their schedule was spent (dead-lettered) or they failed
for good (a 4xx answer, 410 Gone, a disabled endpoint). Listed, and replayed by an operator (one, or all of an
endpoint's since a time, or all that wait for an endpoint when it is resumed). A replay keeps the
``webhook-id`` (it is the same message, so a receiver that got it after all can de-duplicate) and its place in
the person's order (its ``seq``), starts the schedule again, and is audited with who asked for it. Until it is
delivered, later messages about the same person to the same endpoint wait (``service.claim_due``)."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlmodel import col, select, update

from services.common.clock import Clock
from services.common.db import Database
from services.notifier.adapters.tables import Delivery, DeliveryAudit, DeliveryStatus
from services.notifier.usecases.endpoint_state import Actor, audit

log = structlog.get_logger(__name__)

# What did not arrive and can be sent again: both hold the later messages about the person to the endpoint.
REPLAYABLE = (DeliveryStatus.FAILED, DeliveryStatus.DEAD_LETTERED)
_REPLAYABLE = [status.value for status in REPLAYABLE]


async def list_dead_letters(
    *, database: Database, agency_code: str | None = None, since: datetime | None = None, limit: int = 500
) -> list[Delivery]:
    """Deliveries that did not arrive (failed for good or dead-lettered), oldest first."""
    query = select(Delivery).where(col(Delivery.status).in_(_REPLAYABLE))
    if agency_code:
        query = query.where(Delivery.agency_code == agency_code)
    if since:
        query = query.where(col(Delivery.finished_at) >= since)
    async with database.session() as session:
        return list((await session.exec(query.order_by(col(Delivery.seq)).limit(limit))).all())


async def replay(
    *,
    database: Database,
    clock: Clock,
    actor: Actor,
    webhook_id: str | None = None,
    agency_code: str | None = None,
    since: datetime | None = None,
) -> list[str]:
    """Put failed or dead-lettered deliveries back on the schedule, in their order; returns the webhook ids."""
    if webhook_id is None and agency_code is None:
        raise ValueError("name a delivery (webhook_id) or an endpoint (agency_code)")
    now = clock.now()
    query = select(Delivery).where(col(Delivery.status).in_(_REPLAYABLE))
    if webhook_id is not None:
        query = query.where(Delivery.webhook_id == webhook_id)
    if agency_code is not None:
        query = query.where(Delivery.agency_code == agency_code)
    if since is not None:
        query = query.where(col(Delivery.finished_at) >= since)
    replayed: list[str] = []
    async with database.transaction() as session:
        for delivery in (await session.exec(query.order_by(col(Delivery.seq)))).all():
            # what it was, read before the update (which refreshes the object in the session)
            was, replays, last_error = delivery.status, delivery.replays, delivery.last_error
            changed = await session.exec(  # type: ignore[call-overload]
                update(Delivery)
                .where(col(Delivery.seq) == delivery.seq)
                .where(Delivery.status == was)
                .values(
                    status=DeliveryStatus.PENDING,
                    rounds=0,
                    next_attempt_at=now,
                    lease_expires_at=None,
                    finished_at=None,
                    replays=replays + 1,
                )
            )
            if changed.rowcount:
                replayed.append(delivery.webhook_id)
                await audit(
                    session,
                    action="delivery_replayed",
                    actor=actor,
                    now=now,
                    agency_code=delivery.agency_code,
                    subject=delivery.subject,
                    webhook_id=delivery.webhook_id,
                    handover_id=delivery.handover_id,
                    detail=f"replay {replays + 1}; was {was}: {last_error}",
                )
    log.info("dead_letters.replayed", count=len(replayed), agency=agency_code)
    return replayed


async def audit_trail(
    *,
    database: Database,
    webhook_id: str | None = None,
    agency_code: str | None = None,
    handover_id: str | None = None,
    limit: int = 500,
) -> list[DeliveryAudit]:
    query = select(DeliveryAudit)
    if webhook_id:
        query = query.where(DeliveryAudit.webhook_id == webhook_id)
    if agency_code:
        query = query.where(DeliveryAudit.agency_code == agency_code)
    if handover_id:
        query = query.where(DeliveryAudit.handover_id == handover_id)
    async with database.session() as session:
        return list((await session.exec(query.order_by(col(DeliveryAudit.id)).limit(limit))).all())
