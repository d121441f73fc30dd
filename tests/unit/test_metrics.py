"""The shared metrics and readiness parts on real parts: a FastAPI app over ASGI, a migrated SQLite file, a
broker port with nothing listening."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from prometheus_client import REGISTRY

from services.common.broker_probe import BrokerProbe
from services.common.db import Database
from services.common.metrics import RequestMetrics, metrics_response, outbox_backlog
from services.common.migrations import upgrade
from services.common.outbox import OutboxMessage
from services.common.readiness import check_broker, check_database
from services.release_events.wiring import MIGRATIONS

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Database, str]]:
    url = f"sqlite:///{tmp_path / 'release_events.db'}"
    upgrade(url, MIGRATIONS)
    db = Database(url)
    yield db, url
    await db.dispose()


def timed_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestMetrics)

    @app.get("/v1/people/{person_id}")
    async def person(person_id: str) -> dict[str, str]:
        return {"id": person_id}

    return app


@pytest.mark.hazard("H70")
async def test_requests_are_labelled_by_route_template_never_by_the_path() -> None:
    labels = {"method": "GET", "route": "/v1/people/{person_id}", "status": "200"}
    missing = {"method": "GET", "route": "unmatched", "status": "404"}
    before, before_missing = (sample("ttg_http_request_duration_seconds_count", **x) for x in (labels, missing))
    transport = httpx.ASGITransport(app=timed_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/v1/people/9990001234")).status_code == 200
        assert (await client.get("/v1/nowhere/9990001234")).status_code == 404
    assert sample("ttg_http_request_duration_seconds_count", **labels) == before + 1
    assert sample("ttg_http_request_duration_seconds_count", **missing) == before_missing + 1
    from prometheus_client import generate_latest

    assert b"9990001234" not in generate_latest(REGISTRY)


@pytest.mark.hazard("H72")
async def test_the_outbox_backlog_counts_unpublished_rows_only(database: tuple[Database, str]) -> None:
    db, _ = database
    async with db.transaction() as session:
        for number, published in enumerate((None, None, T0)):
            session.add(
                OutboxMessage(
                    event_id=f"e{number}",
                    topic="t",
                    key="k",
                    event_type="x",
                    payload="{}",
                    created_at=T0,
                    published_at=published,
                )
            )
    assert await outbox_backlog(db, timeout=2.0) == 2

    app = FastAPI()
    app.state.database = db

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        return await metrics_response(request, "release_events", 2.0)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert sample("ttg_outbox_backlog", service="release_events") == 2


@pytest.mark.hazard("H71")
async def test_a_moved_sqlite_file_is_not_ready_though_pooled_connections_still_answer(
    database: tuple[Database, str], tmp_path: Path
) -> None:
    db, url = database
    assert (await check_database(db, url, 2.0)).ok
    path = tmp_path / "release_events.db"
    path.rename(tmp_path / "moved.db")
    check = await check_database(db, url, 2.0)
    assert not check.ok and check.name == "database" and "missing" in check.detail
    (tmp_path / "moved.db").rename(path)
    assert (await check_database(db, url, 2.0)).ok


async def test_a_database_without_the_service_schema_is_not_ready(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()  # a database, but not the service's (never migrated)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    db = Database(url)
    try:
        check = await check_database(db, url, 2.0)
    finally:
        await db.dispose()
    assert not check.ok and "did not answer" in check.detail


@pytest.mark.hazard("H71")
async def test_a_broker_that_is_not_there_is_not_ready() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    probe = BrokerProbe(f"127.0.0.1:{port}", timeout=0.5)
    try:
        check = await check_broker(probe, 1.0)
    finally:
        await probe.close()
    assert not check.ok and check.name == "broker" and "Kafka broker" in check.detail
