"""The handover process: HTTP API, the custody-event consumer, the outbox relay to ``handover.events.v1``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts.envelope import CloudEvent, EventType
from services.common.consumer import EventConsumer
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.common.topics import CUSTODY_EVENTS
from services.handover import service
from services.handover.api import router
from services.handover.settings import HandoverSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def start_workers(runtime: Runtime, settings: HandoverSettings) -> None:
    async def on_release_notice(event: CloudEvent) -> None:
        if await service.open_handover(
            database=runtime.database, event=event, clock=runtime.clock, source=settings.source
        ):
            runtime.relay.wake()

    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=[CUSTODY_EVENTS],
        group_id=settings.consumer_group,
        handlers={EventType.RELEASE_NOTICE_SUBMITTED: on_release_notice},
        supported_major_versions={EventType.RELEASE_NOTICE_SUBMITTED: 1},
        producer=runtime.producer,
        batch_size=settings.consumer_batch_size,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    runtime.start("custody-events-consumer", consumer.run)


def create_app(settings: HandoverSettings | None = None) -> FastAPI:
    settings = settings or HandoverSettings()
    return make_app(
        title="Through-the-Gate handover",
        settings=settings,
        migrations=MIGRATIONS,
        router=router,
        start_workers=lambda runtime: start_workers(runtime, settings),
    )


def main() -> None:
    settings = HandoverSettings()
    configure_logging("handover", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
