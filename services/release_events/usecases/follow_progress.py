"""Use cases: follow a notice downstream, from handover's pack events and the notifier's delivery outcomes.

Each event is applied once (the inbox) and the newest event by its own time wins (``domain.progress_rules``)."""

from __future__ import annotations

from collections.abc import Sequence
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
from services.release_events.usecases.ports import DeliveryNote, ReleaseEventsUnitOfWork

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


def _note_of(event: CloudEvent, now: datetime) -> DeliveryNote | None:
    """What a delivery outcome says of its agency's delivery; None when it is not a final outcome of a handover's
    webhook (nothing to follow, and the inbox is not asked)."""
    outcome = DeliveryOutcomeV1.model_validate(event.data)
    if outcome.handover_id is None or not is_outcome(outcome.status):
        return None
    state = DeliveryState(outcome.status).value
    return DeliveryNote(
        outcome.handover_id, outcome.agency_code, outcome.event_type or "unknown", state, event.time or now
    )


async def apply_delivery_outcome(*, uow: ReleaseEventsUnitOfWork, event: CloudEvent, now: datetime) -> bool:
    return bool(await apply_delivery_outcomes(uow=uow, events=[event], now=now))


async def apply_delivery_outcomes(*, uow: ReleaseEventsUnitOfWork, events: Sequence[CloudEvent], now: datetime) -> int:
    """A run of delivery outcomes in one unit of work: each applied once (the inbox), the newest state of each
    agency's delivery kept (``note_deliveries``' rule); how many were applied."""
    noted = [(event, note) for event in events if (note := _note_of(event, now)) is not None]
    if not noted:
        return 0
    async with uow:
        first = await uow.inbox.first_deliveries([event for event, _ in noted])
        applied = []
        for event, note in noted:
            if event.id in first:
                first.remove(event.id)  # the event again later in the run is a repeat
                applied.append(note)
        await uow.progress.note_each(applied)
    return len(applied)
