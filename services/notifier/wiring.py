"""The one place that builds the notifier: settings, clock, unit of work, directory copy, dispatcher, consumers
and the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI

from contracts.envelope import EventType
from services.common.consumer import Handler
from services.common.consumer_factory import build_event_consumer
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.runtime import serve
from services.common.topics import DIRECTORY_EVENTS, HANDOVER_EVENTS
from services.notifier.adapters.live_directory import LiveDirectory, keep_fresh
from services.notifier.adapters.offset_clock import notifier_clock
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.entrypoints.api import delivery_routes, endpoint_routes, escalation_routes
from services.notifier.entrypoints.consumers import Consumers
from services.notifier.entrypoints.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.notifier.usecases.ports import UowFactory

MIGRATIONS = Path(__file__).parent / "migrations"


def start_workers(runtime: Runtime, settings: NotifierSettings, directory: LiveDirectory) -> None:
    def new_uow() -> NotifierUnitOfWork:
        return NotifierUnitOfWork(runtime.database, runtime.clock)

    uows: UowFactory = new_uow
    dispatcher = Dispatcher(
        new_uow=uows,
        directory=directory,
        settings=settings,
        clock=runtime.clock,
        on_final=runtime.relay.wake,
        batch=runtime.database.batch_all_or_nothing,
    )
    consumers = Consumers(uows, directory, runtime.clock, settings, dispatcher.wake, runtime.relay.wake)
    directory_handlers: dict[str, Handler] = {EventType.DIRECTORY_AGENCY_CHANGED.value: consumers.on_directory_change}
    directory_consumer = build_event_consumer(
        settings,
        producer=runtime.producer,
        topics=[DIRECTORY_EVENTS],
        handlers=directory_handlers,
        group_suffix="directory",
    )

    def planned_and_committed() -> None:
        dispatcher.wake()
        runtime.relay.wake()

    handover_consumer = build_event_consumer(
        settings,
        producer=runtime.producer,
        topics=[HANDOVER_EVENTS],
        handlers=consumers.handover_handlers(),
        transaction=runtime.database.batch_all_or_nothing,
        after_commit=planned_and_committed,
    )
    runtime.start("directory-events-consumer", directory_consumer.run)
    runtime.start("directory-refresh", lambda: keep_fresh(directory, uows, settings.directory_refresh_seconds))
    runtime.start("handover-events-consumer", handover_consumer.run)
    runtime.start("webhook-dispatcher", dispatcher.run)
    runtime.before_stop.append(lambda: drain(dispatcher, settings.shutdown_drain_seconds))
    runtime.start("escalation-scan", consumers.scan_for_escalations)


async def drain(dispatcher: Dispatcher, timeout: float) -> None:
    await dispatcher.drain(timeout)


async def boot(runtime: Runtime, settings: NotifierSettings, directory: LiveDirectory) -> None:
    """Read the directory copy before anything delivers with it, then start the workers."""
    await directory.refresh(lambda: NotifierUnitOfWork(runtime.database, runtime.clock))
    start_workers(runtime, settings, directory)


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    directory = LiveDirectory(agencies=[])  # read from the database before the workers start
    clock = notifier_clock(settings)  # a test clock without its explicit switch stops it too
    router = APIRouter()
    for module in (delivery_routes, endpoint_routes, escalation_routes):
        router.include_router(module.router)
    app = make_app(
        title="Through-the-Gate notifier",
        settings=settings,
        migrations=MIGRATIONS,
        router=router,
        start_workers=lambda runtime: runtime.start("boot", lambda: boot(runtime, settings, directory)),
        clock=clock,
    )
    app.state.directory = directory
    return app


def main() -> None:
    settings = NotifierSettings()
    configure_logging("notifier", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
