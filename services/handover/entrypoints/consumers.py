"""Handover's consumers: each event type it follows, and the use case it calls. A use case that staged events
wakes the outbox relay so they are published at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contracts.envelope import CloudEvent, EventType
from services.common.consumer import EventConsumer
from services.common.lifecycle import Runtime
from services.common.topics import CUSTODY_EVENTS, DELIVERY_EVENTS
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.settings import HandoverSettings
from services.handover.usecases.corrections import apply_notice_correction
from services.handover.usecases.custody_events import apply_custody_event
from services.handover.usecases.deliveries import record_delivery_outcome
from services.handover.usecases.open_handover import open_handover

Handler = Callable[[CloudEvent], Awaitable[None]]

# What the notifier reports about each webhook: a referral whose pack never arrived is at risk.
DELIVERY_OUTCOMES = (
    EventType.DELIVERY_SUCCEEDED,
    EventType.DELIVERY_FAILED,
    EventType.DELIVERY_DEAD_LETTERED,
)


def _handlers(runtime: Runtime, settings: HandoverSettings) -> dict[EventType, Handler]:
    def uow() -> HandoverSqlUnitOfWork:
        return HandoverSqlUnitOfWork(runtime.database, runtime.clock)

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

    return {
        EventType.RELEASE_NOTICE_SUBMITTED: on_notice,
        EventType.CUSTODY_EVENT_RECORDED: on_custody_event,
        EventType.RELEASE_NOTICE_AMENDED: on_correction,
        **dict.fromkeys(DELIVERY_OUTCOMES, on_delivery_outcome),
    }


def consumers(runtime: Runtime, settings: HandoverSettings) -> dict[str, EventConsumer]:
    """The custody-event consumer (notices, custody events, corrections) and the delivery-outcome consumer,
    by the name their task runs under."""
    handlers = _handlers(runtime, settings)

    def consumer(topic: str, group_id: str, types: tuple[EventType, ...]) -> EventConsumer:
        return EventConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topics=[topic],
            group_id=group_id,
            handlers={kind.value: handlers[kind] for kind in types},
            supported_major_versions=dict.fromkeys([kind.value for kind in types], 1),
            producer=runtime.producer,
            batch_size=settings.consumer_batch_size,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        )

    custody_types = (
        EventType.RELEASE_NOTICE_SUBMITTED,
        EventType.CUSTODY_EVENT_RECORDED,
        EventType.RELEASE_NOTICE_AMENDED,
    )
    return {
        "custody-events-consumer": consumer(CUSTODY_EVENTS, settings.consumer_group, custody_types),
        "delivery-outcomes-consumer": consumer(
            DELIVERY_EVENTS, f"{settings.consumer_group}-delivery-outcomes", DELIVERY_OUTCOMES
        ),
    }
