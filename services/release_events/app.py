"""The release_events process: HTTP API, the outbox relay to ``custody.events.v1``, the consumers that follow
each notice downstream (``handover.events.v1``, ``delivery.events.v1``), and the idempotency-record purge."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from contracts.envelope import CloudEvent, EventType
from services.common.consumer import EventConsumer
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.common.topics import DELIVERY_EVENTS, HANDOVER_EVENTS
from services.release_events import progress, service
from services.release_events.api import router
from services.release_events.settings import ReleaseEventsSettings

MIGRATIONS = Path(__file__).parent / "migrations"
PURGE_EVERY_SECONDS = 3600
OUTCOMES = (EventType.DELIVERY_SUCCEEDED, EventType.DELIVERY_FAILED, EventType.DELIVERY_DEAD_LETTERED)


def start_workers(runtime: Runtime, settings: ReleaseEventsSettings) -> None:
    async def on_handover_event(event: CloudEvent) -> None:
        await progress.apply_handover_event(database=runtime.database, clock=runtime.clock, event=event)

    async def on_delivery_outcome(event: CloudEvent) -> None:
        await progress.apply_delivery_outcome(database=runtime.database, clock=runtime.clock, event=event)

    handlers = {
        **dict.fromkeys(progress.PACK_STATES, on_handover_event),
        **dict.fromkeys((outcome.value for outcome in OUTCOMES), on_delivery_outcome),
    }
    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=[HANDOVER_EVENTS, DELIVERY_EVENTS],
        group_id=settings.consumer_group,
        handlers=handlers,
        supported_major_versions=dict.fromkeys(handlers, 1),
        producer=runtime.producer,
        batch_size=settings.consumer_batch_size,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    runtime.start("notice-progress-consumer", consumer.run)

    async def purge() -> None:
        while True:
            older_than = runtime.clock.now() - settings.idempotency_window
            await service.purge_idempotency_records(database=runtime.database, older_than=older_than)
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    runtime.start("idempotency-purge", purge)


def create_app(settings: ReleaseEventsSettings | None = None) -> FastAPI:
    settings = settings or ReleaseEventsSettings()
    return make_app(
        title="Through-the-Gate release events",
        settings=settings,
        migrations=MIGRATIONS,
        router=router,
        max_body_bytes=settings.max_body_bytes,
        start_workers=lambda runtime: start_workers(runtime, settings),
    )


def main() -> None:
    settings = ReleaseEventsSettings()
    configure_logging("release_events", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
