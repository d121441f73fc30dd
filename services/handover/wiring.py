"""The one place that builds handover: settings, the directory seed, consumers, routes and the app."""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from services.common.clock import Clock
from services.common.consumer import EventConsumer
from services.common.consumer_factory import build_event_consumer
from services.common.db import Database
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.common.topics import CUSTODY_EVENTS, DELIVERY_EVENTS
from services.handover.adapters.directory_files import read_directory_files, without_literals
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.entrypoints.api import (
    answer_routes,
    directory_routes,
    handover_routes,
    release_routes,
    report_routes,
)
from services.handover.entrypoints.consumers import (
    CUSTODY_TOPIC_TYPES,
    DELIVERY_TOPIC_TYPES,
    batch_handlers,
    handlers,
)
from services.handover.settings import HandoverSettings
from services.handover.usecases.directory_admin import SeedFiles, seed_directory

MIGRATIONS = Path(__file__).parent / "migrations"


async def seed_directory_once(database: Database, clock: Clock, settings: HandoverSettings) -> int:
    """Seed an empty directory from the files; how many agencies were announced."""
    return await seed_directory(
        new_uow=lambda: HandoverSqlUnitOfWork(database, clock, settings.gp_registration_days),
        seed=SeedFiles(
            read=partial(read_directory_files, settings.directory_path),
            keep_secrets=partial(without_literals, store=settings.secret_store_path),
        ),
        source=settings.source,
        now=clock.now(),
    )


def start_workers(runtime: Runtime, settings: HandoverSettings) -> None:
    """The custody-event consumer (notices, custody events, corrections; the directory seeded first) and the
    delivery-outcome consumer (webhook outcomes and deadline escalations)."""
    by_type, together = handlers(runtime, settings), batch_handlers(runtime, settings)

    def consumer(topic: str, types: tuple[StrEnum, ...], group_suffix: str | None = None) -> EventConsumer:
        chosen = {kind.value: by_type[kind] for kind in types}
        batched = {kind.value: together[kind] for kind in types if kind in together}
        return build_event_consumer(
            settings,
            producer=runtime.producer,
            topics=[topic],
            handlers=chosen,
            group_suffix=group_suffix,
            transaction=runtime.database.batch_all_or_nothing,
            after_commit=runtime.relay.wake,
            batch_handlers=batched,
        )

    custody = consumer(CUSTODY_EVENTS, CUSTODY_TOPIC_TYPES)
    outcomes = consumer(DELIVERY_EVENTS, DELIVERY_TOPIC_TYPES, group_suffix="delivery-outcomes")

    async def seed_then_consume() -> None:  # the directory is there before the first notice is routed
        if await seed_directory_once(runtime.database, runtime.clock, settings):
            runtime.relay.wake()
        await custody.run()

    runtime.start("custody-events-consumer", seed_then_consume)
    runtime.start("delivery-outcomes-consumer", outcomes.run)


def create_app(settings: HandoverSettings | None = None) -> FastAPI:
    settings = settings or HandoverSettings()
    read_directory_files(settings.directory_path)  # a broken directory stops the service at start, loudly
    app = make_app(
        title="Through-the-Gate handover",
        settings=settings,
        migrations=MIGRATIONS,
        router=handover_routes.router,
        start_workers=lambda runtime: start_workers(runtime, settings),
    )
    for routes in (answer_routes, release_routes, directory_routes, report_routes):
        app.include_router(routes.router)
    return app


def main() -> None:
    settings = HandoverSettings()
    configure_logging("handover", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
