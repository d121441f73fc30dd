"""release_events' consumer: each handover and delivery event type -> the use case that follows the notice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from contracts.envelope import CloudEvent
from services.common.clock import Clock
from services.common.consumer_runs import BatchHandler
from services.common.db import Database
from services.release_events.adapters.unit_of_work import SqlReleaseEventsUnitOfWork
from services.release_events.domain.progress_rules import OUTCOME_EVENTS, PACK_EVENTS
from services.release_events.usecases.follow_progress import (
    apply_delivery_outcome,
    apply_delivery_outcomes,
    apply_handover_event,
    apply_handover_events,
)

Handler = Callable[[CloudEvent], Awaitable[None]]


def progress_handlers(database: Database, clock: Clock) -> dict[str, Handler]:
    async def on_handover_event(event: CloudEvent) -> None:
        await apply_handover_event(uow=SqlReleaseEventsUnitOfWork(database, clock), event=event, now=clock.now())

    async def on_delivery_outcome(event: CloudEvent) -> None:
        await apply_delivery_outcome(uow=SqlReleaseEventsUnitOfWork(database, clock), event=event, now=clock.now())

    return {
        **dict.fromkeys(PACK_EVENTS, on_handover_event),
        **dict.fromkeys((outcome.value for outcome in OUTCOME_EVENTS), on_delivery_outcome),
    }


def progress_batch_handlers(database: Database, clock: Clock) -> dict[str, BatchHandler]:
    """A run of a group's handover events, or of its delivery outcomes, in one unit of work (the consumer falls
    back on ``progress_handlers``)."""

    async def on_handover_events(events: Sequence[CloudEvent]) -> None:
        uow = SqlReleaseEventsUnitOfWork(database, clock)
        await apply_handover_events(uow=uow, events=events, now=clock.now())

    async def on_delivery_outcomes(events: Sequence[CloudEvent]) -> None:
        uow = SqlReleaseEventsUnitOfWork(database, clock)
        await apply_delivery_outcomes(uow=uow, events=events, now=clock.now())

    return {
        **dict.fromkeys(PACK_EVENTS, on_handover_events),
        **dict.fromkeys((outcome.value for outcome in OUTCOME_EVENTS), on_delivery_outcomes),
    }
