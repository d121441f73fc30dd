"""The handover process: HTTP API, the custody-event consumer, the outbox relay to ``handover.events.v1``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts.envelope import CloudEvent, EventType
from services.common.consumer import EventConsumer
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.common.topics import CUSTODY_EVENTS, DELIVERY_EVENTS
from services.handover import corrections, custody_events, deliveries, service
from services.handover.api import router
from services.handover.directory import DirectoryContext, read_directory_files, seed_from_files
from services.handover.entrypoints.reports_api import router as reports_router
from services.handover.fhir_api import router as fhir_router
from services.handover.settings import HandoverSettings

MIGRATIONS = Path(__file__).parent / "migrations"
# What the notifier reports about each webhook: a referral whose pack never arrived is at risk.
DELIVERY_OUTCOMES = (
    EventType.DELIVERY_SUCCEEDED.value,
    EventType.DELIVERY_FAILED.value,
    EventType.DELIVERY_DEAD_LETTERED.value,
)


def start_workers(runtime: Runtime, settings: HandoverSettings) -> None:
    ctx = service.Context(
        database=runtime.database,
        clock=runtime.clock,
        source=settings.source,
        registration_days=settings.gp_registration_days,
    )

    async def on_release_notice(event: CloudEvent) -> None:
        if await service.open_handover(ctx=ctx, event=event):
            runtime.relay.wake()

    async def on_custody_event(event: CloudEvent) -> None:
        if await custody_events.apply_custody_event(ctx=ctx, event=event):
            runtime.relay.wake()

    async def on_notice_corrected(event: CloudEvent) -> None:
        if await corrections.apply_notice_correction(ctx=ctx, event=event):
            runtime.relay.wake()

    async def run_consumer() -> None:
        directory = DirectoryContext(
            database=runtime.database,
            clock=runtime.clock,
            source=settings.source,
            secret_store=settings.secret_store_path,
        )
        if await seed_from_files(ctx=directory, path=settings.directory_path):
            runtime.relay.wake()
        consumer = EventConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topics=[CUSTODY_EVENTS],
            group_id=settings.consumer_group,
            handlers={
                EventType.RELEASE_NOTICE_SUBMITTED: on_release_notice,
                EventType.CUSTODY_EVENT_RECORDED: on_custody_event,
                EventType.RELEASE_NOTICE_AMENDED: on_notice_corrected,
            },
            supported_major_versions={
                EventType.RELEASE_NOTICE_SUBMITTED: 1,
                EventType.CUSTODY_EVENT_RECORDED: 1,
                EventType.RELEASE_NOTICE_AMENDED: 1,
            },
            producer=runtime.producer,
            batch_size=settings.consumer_batch_size,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        )
        await consumer.run()

    runtime.start("custody-events-consumer", run_consumer)

    async def on_delivery_outcome(event: CloudEvent) -> None:
        await deliveries.record_delivery_outcome(ctx=ctx, event=event)

    outcomes = dict.fromkeys(DELIVERY_OUTCOMES, on_delivery_outcome)
    delivery_consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=[DELIVERY_EVENTS],
        group_id=f"{settings.consumer_group}-delivery-outcomes",
        handlers=outcomes,
        supported_major_versions=dict.fromkeys(outcomes, 1),
        producer=runtime.producer,
        batch_size=settings.consumer_batch_size,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    runtime.start("delivery-outcomes-consumer", delivery_consumer.run)


def create_app(settings: HandoverSettings | None = None) -> FastAPI:
    settings = settings or HandoverSettings()
    read_directory_files(settings.directory_path)  # a broken directory stops the service at start, loudly
    app = make_app(
        title="Through-the-Gate handover",
        settings=settings,
        migrations=MIGRATIONS,
        router=router,
        start_workers=lambda runtime: start_workers(runtime, settings),
    )
    app.include_router(fhir_router)  # the pack as FHIR R4, read and audited as the JSON pack
    app.include_router(reports_router)  # the outcomes dataset
    return app


def main() -> None:
    settings = HandoverSettings()
    configure_logging("handover", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
