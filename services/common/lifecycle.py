"""The life of a service process: migrate, connect, start the outbox relay and consumers, stop cleanly."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from services.common.audit_api import router as audit_router
from services.common.broker_probe import BrokerProbe
from services.common.clock import Clock, SystemClock
from services.common.db import Database
from services.common.hardening import InputGuard, install_body_limit
from services.common.kafka_clients import start_producer
from services.common.metrics import RequestMetrics, metrics_response
from services.common.migrations import upgrade
from services.common.outbox_relay import OutboxRelay
from services.common.outbox_replay_api import router as outbox_router
from services.common.problems import install_problem_handlers, problem_response
from services.common.readiness import readiness
from services.common.runtime import install_correlation_ids, supervise
from services.common.settings import ServiceSettings
from services.common.topics import ALL_TOPICS, ensure_topics
from services.common.tracing import instrument

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: ServiceSettings
    database: Database
    producer: AIOKafkaProducer
    relay: OutboxRelay
    clock: Clock
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Run, in order, before the background tasks are cancelled at stop: work in flight finishes cleanly.
    before_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(asyncio.create_task(supervise(name, run), name=name))


@asynccontextmanager
async def service_runtime(
    app: FastAPI, *, settings: ServiceSettings, migrations: Path, clock: Clock | None = None
) -> AsyncIterator[Runtime]:
    await asyncio.to_thread(upgrade, settings.database_url, migrations)
    database = Database(settings.database_url)
    await ensure_topics(settings.kafka_bootstrap_servers, list(ALL_TOPICS), settings.topic_partitions)
    producer = await start_producer(settings.kafka_bootstrap_servers)
    runtime_clock = clock or SystemClock()
    relay = OutboxRelay(
        database=database,
        producer=producer,
        probe=BrokerProbe(settings.kafka_bootstrap_servers),
        service=migrations.parent.name,
        batch_size=settings.relay_batch_size,
        idle_seconds=settings.relay_idle_seconds,
        replay_window=timedelta(hours=settings.relay_replay_window_hours),
        check_seconds=settings.relay_broker_check_seconds,
        topic_partitions=settings.topic_partitions,
        clock=runtime_clock,
    )
    runtime = Runtime(settings=settings, database=database, producer=producer, relay=relay, clock=runtime_clock)
    app.state.settings = settings
    app.state.database = database
    app.state.relay = relay
    app.state.service_name = migrations.parent.name
    app.state.clock = runtime_clock
    app.state.runtime = runtime
    app.state.readiness_probe = readiness_probe = BrokerProbe(
        settings.kafka_bootstrap_servers, timeout=settings.readiness_timeout_seconds
    )
    runtime.start("outbox-relay", relay.run)
    log.info("service.started", port=settings.port)
    try:
        yield runtime
    finally:
        for stop in runtime.before_stop:
            try:
                await stop()
            except Exception:
                log.exception("service.stop_step_failed")
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        await readiness_probe.close()
        await producer.stop()
        await database.dispose()
        log.info("service.stopped")


def make_app(
    *,
    title: str,
    settings: ServiceSettings,
    migrations: Path,
    router: APIRouter,
    start_workers: Callable[[Runtime], None] | None = None,
    max_body_bytes: int = 256 * 1024,
    clock: Clock | None = None,
) -> FastAPI:
    """A service's FastAPI app: problem details, correlation ids, body limit, liveness, readiness, metrics, traces,
    documentation served from local assets (no CDN), and its workers."""
    service = migrations.parent.name

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(app, settings=settings, migrations=migrations, clock=clock) as runtime:
            if start_workers:
                start_workers(runtime)
            yield

    # FastAPIOffline serves /docs and /redoc with the Swagger UI and ReDoc files shipped in its package.
    app = FastAPIOffline(title=title, version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(InputGuard, max_body_bytes=max_body_bytes)  # innermost: its answers carry correlation ids
    install_correlation_ids(app)
    install_body_limit(app, max_body_bytes)
    app.add_middleware(RequestMetrics)  # outermost: it times what every other layer answers
    app.include_router(router)
    app.include_router(audit_router)
    app.include_router(outbox_router)  # POST /v1/outbox/replay, operators only

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str | int]:
        # The pid lets a launcher tell its own process from another one already holding the port.
        return {"status": "ok", "pid": os.getpid()}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        checks = await readiness(
            request.app.state.database,
            settings.database_url,
            request.app.state.readiness_probe,
            settings.readiness_timeout_seconds,
        )
        report = {check.name: check.detail for check in checks}
        down = [check.name for check in checks if not check.ok]
        if down:
            detail = "; ".join(f"{check.name}: {check.detail}" for check in checks if not check.ok)
            return problem_response(503, "Not ready", detail, "not-ready", request.url.path, down=down, checks=report)
        return JSONResponse({"status": "ready", "checks": report})

    if settings.metrics_enabled:

        @app.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            return await metrics_response(request, service, settings.readiness_timeout_seconds)

    instrument(app, service)  # server spans outermost, and client spans
    return app
