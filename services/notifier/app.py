"""The notifier process: the handover-event consumer, the webhook dispatcher, outcome events, its API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts.envelope import CloudEvent, EventType
from services.common.consumer import EventConsumer
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.common.topics import HANDOVER_EVENTS
from services.notifier import service
from services.notifier.api import router
from services.notifier.directory import load_directory
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def start_workers(runtime: Runtime, settings: NotifierSettings) -> None:
    directory = load_directory(settings.directory_path)
    dispatcher = Dispatcher(
        database=runtime.database,
        directory=directory,
        settings=settings,
        clock=runtime.clock,
        on_final=runtime.relay.wake,
    )

    async def on_pack_issued(event: CloudEvent) -> None:
        if await service.plan_deliveries(
            database=runtime.database, event=event, directory=directory, clock=runtime.clock
        ):
            dispatcher.wake()

    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=[HANDOVER_EVENTS],
        group_id=settings.consumer_group,
        handlers={EventType.HANDOVER_PACK_ISSUED: on_pack_issued},
        supported_major_versions={EventType.HANDOVER_PACK_ISSUED: 1},
        producer=runtime.producer,
        batch_size=settings.consumer_batch_size,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    runtime.start("handover-events-consumer", consumer.run)
    runtime.start("webhook-dispatcher", dispatcher.run)


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    load_directory(settings.directory_path)  # a broken directory stops the service at start, loudly
    return make_app(
        title="Through-the-Gate notifier",
        settings=settings,
        migrations=MIGRATIONS,
        router=router,
        start_workers=lambda runtime: start_workers(runtime, settings),
    )


def main() -> None:
    settings = NotifierSettings()
    configure_logging("notifier", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
