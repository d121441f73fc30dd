"""Where a notice went after it was published: the pack handover issued for it (or amended, or withdrawn)
and the state of each agency's delivery, projected from ``handover.events.v1`` and ``delivery.events.v1``.

Each event is applied once (the inbox) and the newest event by its own time wins, so the projection ends the
same whatever order the two topics arrive in. It holds identifiers and states only, no clinical content.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent, EventType
from services.common.clock import Clock
from services.common.db import Database
from services.common.inbox import first_delivery
from services.release_events.models import NoticeDelivery, NoticeProgress

log = structlog.get_logger(__name__)

PACK_STATES = {
    EventType.HANDOVER_PACK_ISSUED.value: ("issued", "handover.pack.issued"),
    EventType.HANDOVER_PACK_AMENDED.value: ("amended", "handover.pack.amended"),
    EventType.HANDOVER_PACK_WITHDRAWN.value: ("withdrawn", "handover.pack.withdrawn"),
    EventType.REFERRAL_REROUTED.value: (None, "handover.referral.rerouted"),
}
OUTCOMES = {"delivered", "failed", "dead_lettered"}


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    agency_code: str


class _PackEvent(BaseModel):
    """The identifiers of a handover event this projection needs (the pack itself is ignored)."""

    model_config = ConfigDict(extra="ignore")
    handover_id: str
    version: int
    notice_id: str | None = None
    distribution: list[_Entry] = []


def _time(event: CloudEvent, clock: Clock) -> datetime:
    return event.time or clock.now()


async def apply_handover_event(*, database: Database, clock: Clock, event: CloudEvent) -> bool:
    """Record the pack's state and a pending delivery for each agency it is sent to."""
    state, message = PACK_STATES[event.type]
    data = _PackEvent.model_validate(event.data)
    at = _time(event, clock)
    async with database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=clock.now()):
            return False
        progress = await session.get(NoticeProgress, data.handover_id)
        if state is not None and data.notice_id is not None:
            if progress is None:
                session.add(
                    NoticeProgress(
                        handover_id=data.handover_id,
                        notice_id=data.notice_id,
                        version=data.version,
                        state=state,
                        updated_at=at,
                    )
                )
            elif (data.version, at) >= (progress.version, progress.updated_at):
                progress.version, progress.state, progress.updated_at = data.version, state, at
                session.add(progress)
        for entry in data.distribution:
            await _set_delivery(session, data.handover_id, entry.agency_code, message, "pending", at)
    log.info("notice_progress.pack", handover_id=data.handover_id, version=data.version, state=state)
    return True


async def apply_delivery_outcome(*, database: Database, clock: Clock, event: CloudEvent) -> bool:
    outcome = DeliveryOutcomeV1.model_validate(event.data)
    if outcome.handover_id is None or outcome.status not in OUTCOMES:
        return False
    at = _time(event, clock)
    async with database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=clock.now()):
            return False
        message = outcome.event_type or "unknown"
        await _set_delivery(session, outcome.handover_id, outcome.agency_code, message, outcome.status, at)
    return True


async def _set_delivery(
    session: AsyncSession, handover_id: str, agency_code: str, message: str, state: str, at: datetime
) -> None:
    row = await session.get(NoticeDelivery, (handover_id, agency_code))
    if row is None:
        session.add(
            NoticeDelivery(
                handover_id=handover_id, agency_code=agency_code, message=message, state=state, updated_at=at
            )
        )
    elif at >= row.updated_at:
        row.message, row.state, row.updated_at = message, state, at
        session.add(row)


async def progress_of(*, database: Database, notice_id: str) -> tuple[NoticeProgress | None, list[NoticeDelivery]]:
    """The latest handover of the notice and the deliveries of that handover, by agency code."""
    async with database.session() as session:
        progress = (
            await session.exec(
                select(NoticeProgress)
                .where(NoticeProgress.notice_id == notice_id)
                .order_by(col(NoticeProgress.updated_at).desc())
                .limit(1)
            )
        ).first()
        if progress is None:
            return None, []
        deliveries = (
            await session.exec(
                select(NoticeDelivery)
                .where(NoticeDelivery.handover_id == progress.handover_id)
                .order_by(col(NoticeDelivery.agency_code))
            )
        ).all()
    return progress, list(deliveries)
