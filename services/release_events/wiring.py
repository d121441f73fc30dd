"""The release_events process, wired in one place: the HTTP API, the outbox relay to ``custody.events.v1``, the
consumer that follows each notice downstream (``handover.events.v1``, ``delivery.events.v1``), and the
idempotency-record purge."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, FastAPI

from services.common.consumer_factory import build_event_consumer
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.common.topics import DELIVERY_EVENTS, HANDOVER_EVENTS
from services.release_events.adapters.unit_of_work import SqlReleaseEventsUnitOfWork
from services.release_events.entrypoints.api import custody_routes, notice_routes
from services.release_events.entrypoints.consumers import progress_batch_handlers, progress_handlers
from services.release_events.settings import ReleaseEventsSettings
from services.release_events.usecases.purge_idempotency import purge_idempotency_records

MIGRATIONS = Path(__file__).parent / "migrations"
PURGE_EVERY_SECONDS = 3600


def start_workers(runtime: Runtime, settings: ReleaseEventsSettings) -> None:
    handlers = progress_handlers(runtime.database, runtime.clock)
    consumer = build_event_consumer(
        settings,
        producer=runtime.producer,
        topics=[HANDOVER_EVENTS, DELIVERY_EVENTS],
        handlers=handlers,
        transaction=runtime.database.batch_all_or_nothing,
        batch_handlers=progress_batch_handlers(runtime.database, runtime.clock),
    )
    runtime.start("notice-progress-consumer", consumer.run)

    async def purge() -> None:
        while True:
            older_than = runtime.clock.now() - settings.idempotency_window
            uow = SqlReleaseEventsUnitOfWork(runtime.database, runtime.clock)
            await purge_idempotency_records(uow=uow, older_than=older_than)
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    runtime.start("idempotency-purge", purge)


def router() -> APIRouter:
    combined = APIRouter()
    combined.include_router(notice_routes.router)
    combined.include_router(custody_routes.router)
    return combined


def create_app(settings: ReleaseEventsSettings | None = None) -> FastAPI:
    settings = settings or ReleaseEventsSettings()
    return make_app(
        title="Through-the-Gate release events",
        settings=settings,
        migrations=MIGRATIONS,
        router=router(),
        max_body_bytes=settings.max_body_bytes,
        start_workers=lambda runtime: start_workers(runtime, settings),
    )


def main() -> None:
    settings = ReleaseEventsSettings()
    configure_logging("release_events", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
