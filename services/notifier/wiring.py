"""The notifier process: the handover-event consumer, the webhook dispatcher, the escalation scan, outcome
events, its API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI

from contracts.envelope import CloudEvent, EventType
from services.common.consumer import EventConsumer, Handler
from services.common.lifecycle import Runtime, make_app
from services.common.logging import configure_logging
from services.common.metrics import ESCALATIONS
from services.common.runtime import serve
from services.common.topics import DIRECTORY_EVENTS, HANDOVER_EVENTS
from services.notifier.adapters.offset_clock import notifier_clock
from services.notifier.domain.distribution import WEBHOOK_EVENT_TYPES, distribution
from services.notifier.domain.escalation_rules import Deadlines
from services.notifier.entrypoints.api import router
from services.notifier.entrypoints.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.notifier.usecases import deliveries as service
from services.notifier.usecases import escalations as escalation
from services.notifier.usecases.directory_sync import LiveDirectory, apply_change, keep_fresh

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# Events whose distribution the notifier delivers (issued, amended, withdrawn, re-routed, escalated).
PACK_EVENTS = tuple(WEBHOOK_EVENT_TYPES)
ESCALATION_SCAN_SECONDS = 1.0


def start_directory(runtime: Runtime, settings: NotifierSettings, directory: LiveDirectory) -> None:
    """Follow the directory of services: apply its change events, and re-read the copy every few moments."""

    async def on_directory_change(event: CloudEvent) -> None:
        if await apply_change(database=runtime.database, event=event, clock=runtime.clock):
            await directory.refresh(runtime.database)

    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=[DIRECTORY_EVENTS],
        group_id=f"{settings.consumer_group}-directory",
        handlers={EventType.DIRECTORY_AGENCY_CHANGED.value: on_directory_change},
        supported_major_versions={EventType.DIRECTORY_AGENCY_CHANGED.value: 1},
        producer=runtime.producer,
        batch_size=settings.consumer_batch_size,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    runtime.start("directory-events-consumer", consumer.run)
    runtime.start(
        "directory-refresh", lambda: keep_fresh(directory, runtime.database, settings.directory_refresh_seconds)
    )


def start_workers(runtime: Runtime, settings: NotifierSettings, directory: LiveDirectory) -> None:
    start_directory(runtime, settings, directory)
    dispatcher = Dispatcher(
        database=runtime.database,
        directory=directory,
        settings=settings,
        clock=runtime.clock,
        on_final=runtime.relay.wake,
    )
    rules = Deadlines(
        after_delivery=timedelta(hours=settings.escalate_after_delivery_hours),
        before_release=timedelta(hours=settings.escalate_before_release_hours),
        timezone=settings.escalation_timezone,
    )

    async def on_pack_event(event: CloudEvent) -> None:
        codes = [entry["agency_code"] for entry in distribution(event)]
        if not await directory.wait_for(codes, database=runtime.database, timeout=settings.directory_wait_seconds):
            log.warning("directory.agency_unknown", event_id=event.id)
        planned = await service.plan_deliveries(
            database=runtime.database, event=event, directory=directory, clock=runtime.clock
        )
        await escalation.remember_handover(database=runtime.database, event=event, clock=runtime.clock)
        if planned:
            dispatcher.wake()

    async def on_answer(event: CloudEvent) -> None:
        await escalation.record_answer(database=runtime.database, event=event, clock=runtime.clock)

    async def scan_for_escalations() -> None:
        while True:
            escalated = await escalation.escalate_due(
                database=runtime.database,
                directory=directory,
                clock=runtime.clock,
                rules=rules,
                source=settings.source,
            )
            if escalated:
                ESCALATIONS.inc(escalated)
                dispatcher.wake()
                runtime.relay.wake()
            await asyncio.sleep(ESCALATION_SCAN_SECONDS)

    handlers: dict[str, Handler] = dict.fromkeys(PACK_EVENTS, on_pack_event)
    handlers[EventType.REFERRAL_ANSWERED.value] = on_answer
    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=[HANDOVER_EVENTS],
        group_id=settings.consumer_group,
        handlers=handlers,
        supported_major_versions=dict.fromkeys(handlers, 1),
        producer=runtime.producer,
        batch_size=settings.consumer_batch_size,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    runtime.start("handover-events-consumer", consumer.run)
    runtime.start("webhook-dispatcher", dispatcher.run)
    runtime.before_stop.append(lambda: drain(dispatcher, settings.shutdown_drain_seconds))
    runtime.start("escalation-scan", scan_for_escalations)


async def drain(dispatcher: Dispatcher, timeout: float) -> None:
    await dispatcher.drain(timeout)


async def boot(runtime: Runtime, settings: NotifierSettings, directory: LiveDirectory) -> None:
    """Read the directory copy before anything delivers with it, then start the workers."""
    await directory.refresh(runtime.database)
    start_workers(runtime, settings, directory)


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    directory = LiveDirectory(agencies=[])  # read from the database before the workers start
    clock = notifier_clock(settings)  # a test clock without its explicit switch stops it too
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
