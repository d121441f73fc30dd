"""Prometheus metrics of one service process, served at ``/metrics``.

Each process counts for itself (the default registry): with several replicas Prometheus scrapes each one and
sums. Labels hold only route templates, outcomes, agency codes (organisation codes, public), topics and
consumer groups: never a path as requested, a person's number or anything from a body, so the text is safe
to show to whoever operates the service. ``/metrics`` is unauthenticated like ``/healthz`` (see
deploy/configuration.md, ``metrics_enabled``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.db import Database

log = structlog.get_logger(__name__)

UNMATCHED = "unmatched"

REQUEST_SECONDS = Histogram(
    "ttg_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code",
    ["method", "route", "status"],
)
OUTBOX_BACKLOG = Gauge(
    "ttg_outbox_backlog", "Outbox rows not yet published to Kafka (read at each scrape)", ["service"]
)
CONSUMER_LAG = Gauge(
    "ttg_consumer_lag",
    "Records on a partition not yet read by the consumer group (high-water mark minus position)",
    ["group", "topic", "partition"],
)
CONSUMER_DEAD_LETTERS = Counter(
    "ttg_consumer_dead_letters", "Records a consumer could not apply and sent to the dead-letter topic", ["topic"]
)
RELEASE_NOTICES = Counter(
    "ttg_release_notices", "Release notices answered, by outcome (accepted, duplicate, replayed)", ["outcome"]
)
DELIVERIES = Counter(
    "ttg_webhook_deliveries",
    "Webhook delivery rounds concluded, by outcome (delivered, retry_scheduled, failed, dead_lettered) "
    "and the agency code of the endpoint",
    ["outcome", "agency"],
)
WEBHOOK_DEAD_LETTERS = Counter(
    "ttg_webhook_dead_letters", "Webhooks dead-lettered after their retry schedule ran out", ["agency"]
)
ESCALATIONS = Counter("ttg_escalations", "Unanswered referrals escalated")


async def record_lag(consumer: AIOKafkaConsumer, group: str) -> None:
    """Lag of each assigned partition from what the consumer already knows (the high-water mark of its last
    fetch and its position): no request to the broker beyond those the consumer makes anyway."""
    for partition in consumer.assignment():
        highwater = consumer.highwater(partition)
        if highwater is None:
            continue
        try:
            async with asyncio.timeout(0.5):
                position = await consumer.position(partition)
        except Exception:  # noqa: BLE001 - a position not known yet (rebalancing) leaves the last value
            continue
        CONSUMER_LAG.labels(group, partition.topic, str(partition.partition)).set(max(0, highwater - position))


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/v1/handovers/{handover_id}``), never the raw path: raw
    paths carry ids, and one series per id would be both a leak and a cardinality explosion."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetrics:
    """ASGI middleware timing every HTTP request into :data:`REQUEST_SECONDS`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            REQUEST_SECONDS.labels(scope.get("method", ""), route_template(scope), str(status)).observe(
                time.perf_counter() - started
            )


async def outbox_backlog(database: Database, timeout: float) -> int:
    async with database.session() as session:
        async with asyncio.timeout(timeout):
            result = await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
        return int(result.scalar_one())


async def metrics_response(request: Request, service: str, timeout: float) -> Response:
    """The exposition text, with the gauges read at scrape time brought up to date first. A database that does
    not answer leaves the backlog gauge at its last value (readiness says the database is down)."""
    database: Any = getattr(request.app.state, "database", None)
    if database is not None:
        try:
            OUTBOX_BACKLOG.labels(service).set(await outbox_backlog(database, timeout))
        except Exception as error:  # noqa: BLE001 - a scrape must not fail because one gauge could not be read
            log.warning("metrics.backlog_unreadable", error=type(error).__name__)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
