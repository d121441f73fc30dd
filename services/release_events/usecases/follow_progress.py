"""Use cases: follow a notice downstream, from handover's pack events and the notifier's delivery outcomes.

Each event is applied once (the inbox) and the newest event by its own time wins (``domain.progress_rules``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog
from pydantic import BaseModel, ConfigDict

from contracts.delivery import DeliveryOutcomeV1
from contracts.envelope import CloudEvent
from services.release_events.domain.progress_rules import (
    PACK_EVENTS,
    DeliveryState,
    is_outcome,
)
from services.release_events.usecases.ports import DeliveryNote, PackNote, ReleaseEventsUnitOfWork

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
    return bool(await apply_handover_events(uow=uow, events=[event], now=now))


async def apply_handover_events(*, uow: ReleaseEventsUnitOfWork, events: Sequence[CloudEvent], now: datetime) -> int:
    """A run of handover events in one unit of work: each applied once (the inbox); the newest state of each pack
    and a pending delivery for each agency each pack is sent to, written per table; how many were applied."""
    read = {event.id: _PackEvent.model_validate(event.data) for event in events}
    packs: list[PackNote] = []
    deliveries: list[DeliveryNote] = []
    async with uow:
        first = await uow.inbox.first_deliveries(events)
        for event in first:
            data = read[event.id]
            state, message = PACK_EVENTS[event.type]
            at, pending = event.time or now, DeliveryState.PENDING.value
            if state is not None and data.notice_id is not None:
                packs.append(PackNote(data.handover_id, data.notice_id, data.version, state.value, at))
            deliveries += [
                DeliveryNote(data.handover_id, e.agency_code, message, pending, at) for e in data.distribution
            ]
        await uow.progress.note_packs(packs)
        await uow.progress.note_each(deliveries)
    log.info("notice_progress.packs", events=len(events), applied=len(first), packs=len(packs))
    return len(first)


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
        of_event = {event.id: note for event, note in noted}
        applied = [of_event[event.id] for event in first]
        await uow.progress.note_each(applied)
    return len(applied)
