"""Handover's consumers: each event type it follows, and the use case it calls (``wiring.py`` builds the
consumers). A use case that staged events wakes the outbox relay so they are published at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

from contracts.delivery import DeliveryEventType
from contracts.envelope import CloudEvent, EventType
from services.common.consumer_runs import BatchHandler
from services.common.lifecycle import Runtime
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.settings import HandoverSettings
from services.handover.usecases.corrections import apply_notice_correction
from services.handover.usecases.custody_events import apply_custody_event
from services.handover.usecases.deliveries import record_delivery_outcome, record_delivery_outcomes
from services.handover.usecases.escalations_noted import note_deadline_escalation
from services.handover.usecases.open_handover import open_handover

Handler = Callable[[CloudEvent], Awaitable[None]]

# What prison healthcare sends through release_events (topic custody.events.v1).
CUSTODY_TOPIC_TYPES = (
    EventType.RELEASE_NOTICE_SUBMITTED,
    EventType.CUSTODY_EVENT_RECORDED,
    EventType.RELEASE_NOTICE_AMENDED,
)
# What the notifier reports about each webhook: a referral whose pack never arrived is at risk.
DELIVERY_OUTCOMES = (
    EventType.DELIVERY_SUCCEEDED,
    EventType.DELIVERY_FAILED,
    EventType.DELIVERY_DEAD_LETTERED,
)
# What handover reads of delivery.events.v1: the outcomes, and each referral escalated at a deadline (kept for
# the outcomes dataset).
DELIVERY_TOPIC_TYPES: tuple[StrEnum, ...] = (*DELIVERY_OUTCOMES, DeliveryEventType.REFERRAL_ESCALATED)


def handlers(runtime: Runtime, settings: HandoverSettings) -> dict[StrEnum, Handler]:
    """The use case each event type calls."""

    def uow() -> HandoverSqlUnitOfWork:
        return HandoverSqlUnitOfWork(runtime.database, runtime.clock, settings.gp_registration_days)

    async def on_notice(event: CloudEvent) -> None:
        now, days = runtime.clock.now(), settings.gp_registration_days
        if await open_handover(uow=uow(), event=event, source=settings.source, now=now, registration_days=days):
            runtime.relay.wake()

    async def on_custody_event(event: CloudEvent) -> None:
        now, days = runtime.clock.now(), settings.gp_registration_days
        if await apply_custody_event(uow=uow(), event=event, source=settings.source, now=now, registration_days=days):
            runtime.relay.wake()

    async def on_correction(event: CloudEvent) -> None:
        now, days = runtime.clock.now(), settings.gp_registration_days
        if await apply_notice_correction(
            uow=uow(), event=event, source=settings.source, now=now, registration_days=days
        ):
            runtime.relay.wake()

    async def on_delivery_outcome(event: CloudEvent) -> None:
        if await record_delivery_outcome(uow=uow(), event=event, source=settings.source, now=runtime.clock.now()):
            runtime.relay.wake()

    async def on_escalation(event: CloudEvent) -> None:
        await note_deadline_escalation(uow=uow(), event=event)

    return {
        EventType.RELEASE_NOTICE_SUBMITTED: on_notice,
        EventType.CUSTODY_EVENT_RECORDED: on_custody_event,
        EventType.RELEASE_NOTICE_AMENDED: on_correction,
        **dict.fromkeys(DELIVERY_OUTCOMES, on_delivery_outcome),
        DeliveryEventType.REFERRAL_ESCALATED: on_escalation,
    }


def batch_handlers(runtime: Runtime, settings: HandoverSettings) -> dict[StrEnum, BatchHandler]:
    """The use cases that apply a run of a group's events at once (the consumer falls back on ``handlers``)."""

    def uow() -> HandoverSqlUnitOfWork:
        return HandoverSqlUnitOfWork(runtime.database, runtime.clock, settings.gp_registration_days)

    async def on_delivery_outcomes(events: Sequence[CloudEvent]) -> None:
        now = runtime.clock.now()
        if await record_delivery_outcomes(new_uow=uow, events=events, source=settings.source, now=now):
            runtime.relay.wake()

    return dict.fromkeys(DELIVERY_OUTCOMES, on_delivery_outcomes)
