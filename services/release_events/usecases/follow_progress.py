"""Use cases: follow a notice downstream, from handover's pack events and the notifier's delivery outcomes.

Each event is applied once (the inbox) and the newest event by its own time wins (``domain.progress_rules``)."""

from __future__ import annotations

from datetime import datetime

import structlog
from pydantic import BaseModel, ConfigDict

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent
from services.release_events.adapters.tables import NoticeProgress
from services.release_events.domain.progress_rules import (
    PACK_EVENTS,
    DeliveryState,
    is_outcome,
    pack_moves,
)
from services.release_events.usecases.ports import ReleaseEventsUnitOfWork

log = structlog.get_logger(__name__)


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


async def apply_handover_event(*, uow: ReleaseEventsUnitOfWork, event: CloudEvent, now: datetime) -> bool:
    """Record the pack's state and a pending delivery for each agency it is sent to."""
    state, message = PACK_EVENTS[event.type]
    data = _PackEvent.model_validate(event.data)
    at = event.time or now
    async with uow:
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            return False
        pack = await uow.progress.pack(data.handover_id)
        if state is not None and data.notice_id is not None:
            if pack is None:
                uow.progress.save(
                    NoticeProgress(
                        handover_id=data.handover_id,
                        notice_id=data.notice_id,
                        version=data.version,
                        state=state.value,
                        updated_at=at,
                    )
                )
            elif pack_moves(version=data.version, at=at, current_version=pack.version, current_at=pack.updated_at):
                pack.version, pack.state, pack.updated_at = data.version, state.value, at
                uow.progress.save(pack)
        agencies = [entry.agency_code for entry in data.distribution]
        await uow.progress.note_deliveries(
            data.handover_id, agencies, message=message, state=DeliveryState.PENDING, at=at
        )
    log.info("notice_progress.pack", handover_id=data.handover_id, version=data.version, state=state)
    return True


async def apply_delivery_outcome(*, uow: ReleaseEventsUnitOfWork, event: CloudEvent, now: datetime) -> bool:
    outcome = DeliveryOutcomeV1.model_validate(event.data)
    if outcome.handover_id is None or not is_outcome(outcome.status):
        return False
    at = event.time or now
    async with uow:
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            return False
        message, state = outcome.event_type or "unknown", DeliveryState(outcome.status)
        await uow.progress.note_deliveries(
            outcome.handover_id, [outcome.agency_code], message=message, state=state, at=at
        )
    return True
