"""Operating the service: Prometheus metrics, readiness apart from liveness, API documentation offline.

Runs once on SQLite files and once on PostgreSQL (the ``system`` fixture is parametrised by backend). The test
that takes a database away runs last in this module and gives it back.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from tests.acceptance.test_skeleton import (
    DURHAM_RECIPIENTS,
    submit,
    wait_for_handover,
    wait_until_delivered,
)
from tests.support.polling import eventually
from tests.support.receiver import Behaviour
from tests.support.seeding import seeded_rng
from tests.support.system import POSTGRES_URL, RunningSystem
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

SERVICES = ("release_events", "handover", "notifier")


def scrape(system: RunningSystem, service: str) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The metrics text of ``service`` (no credentials: /metrics is open like /healthz) and its samples."""
    with system.client(service, as_client=None) as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.hazard("H70", "H72")
def test_metrics_count_the_journey_without_personal_data(system: RunningSystem) -> None:
    _, before = scrape(system, "release_events")
    _, notifier_before = scrape(system, "notifier")

    notice = release_notice(seeded_rng(), place="durham")
    response = submit(system, notice, key=str(uuid.uuid4()))
    assert response.status_code == 202, response.text
    handover = wait_for_handover(system, response.json()["notice_id"])
    with system.client("handover") as client:  # a request naming a person's handover by id
        assert client.get(f"/v1/handovers/{handover['handover_id']}").status_code == 200
    wait_until_delivered(system, handover["handover_id"], DURHAM_RECIPIENTS)

    text, after = scrape(system, "release_events")
    accepted = "ttg_release_notices_total"
    assert value(after, accepted, outcome="accepted") == value(before, accepted, outcome="accepted") + 1
    route = {"method": "POST", "route": "/v1/release-notices", "status": "202"}
    assert value(after, "ttg_http_request_duration_seconds_count", **route) >= 1
    assert value(after, "ttg_outbox_backlog", service="release_events") >= 0
    assert ("ttg_outbox_backlog", (("service", "release_events"),)) in after

    def delivered_to_each() -> dict[str, Any] | None:
        text, samples = scrape(system, "notifier")
        grown = {
            code: value(samples, "ttg_webhook_deliveries_total", outcome="delivered", agency=code)
            - value(notifier_before, "ttg_webhook_deliveries_total", outcome="delivered", agency=code)
            for code in DURHAM_RECIPIENTS
        }
        return {"text": text, "samples": samples} if all(n >= 1 for n in grown.values()) else None

    notifier = eventually(delivered_to_each, what="a delivered webhook counted for each Durham recipient")
    lag = [key for key in notifier["samples"] if key[0] == "ttg_consumer_lag"]
    assert lag, "the notifier's consumers report their lag"

    handover_text, handover_samples = scrape(system, "handover")
    template = {"method": "GET", "route": "/v1/handovers/{handover_id}", "status": "200"}
    assert value(handover_samples, "ttg_http_request_duration_seconds_count", **template) >= 1

    for metrics_text in (text, notifier["text"], handover_text):
        for secret in (notice["nhs_number"], notice["prison_number"], handover["handover_id"]):
            assert secret not in metrics_text
        assert notice["family_name"] not in metrics_text


@pytest.mark.hazard("H71")
def test_readiness_is_apart_from_liveness_and_ready_when_all_is_up(system: RunningSystem) -> None:
    for service in SERVICES:
        with system.client(service, as_client=None) as client:
            ready = client.get("/readyz")
            alive = client.get("/healthz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}
        assert alive.status_code == 200


def test_docs_use_only_local_assets(system: RunningSystem) -> None:
    for service in SERVICES:
        with system.client(service, as_client=None) as client:
            page = client.get("/docs")
            assert page.status_code == 200
            assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
            urls = re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
            assert assets, page.text
            for asset in assets:
                assert asset.startswith("/"), f"{service} /docs loads {asset} from elsewhere"
                served = client.get(asset)
                assert served.status_code == 200, asset
                assert len(served.content) > 1000, asset
            assert urls == ["/openapi.json"]
            assert "cdn" not in page.text.lower()


def answers_health(system: RunningSystem, service: str) -> bool:
    try:
        return httpx.get(system.stack.url(service) + "/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_stopping_notifier_lets_the_webhook_in_flight_be_answered_and_recorded(system: RunningSystem) -> None:
    answer = threading.Event()
    system.receiver.behave("PDU-DUR", Behaviour(hang_until=answer))
    notifier = system.stack.processes["notifier"]
    try:
        response = submit(system, release_notice(seeded_rng(), place="durham"), key=str(uuid.uuid4()))
        assert response.status_code == 202, response.text
        handover_id = wait_for_handover(system, response.json()["notice_id"])["handover_id"]
        [in_flight] = eventually(
            lambda: [item for item in system.receiver.for_handover(handover_id) if item.agency_code == "PDU-DUR"],
            what="the probation webhook in flight",
        )
        stopping = threading.Thread(target=system.stack.stop_service, args=("notifier",))
        stopping.start()
        eventually(lambda: not answers_health(system, "notifier"), what="the notifier to begin stopping")
        with pytest.raises(subprocess.TimeoutExpired):
            notifier.wait(timeout=1.0)  # it does not exit while the webhook is unanswered
    finally:
        answer.set()
        system.receiver.behave("PDU-DUR", Behaviour())
    stopping.join(timeout=30)
    # uvicorn ends by raising the signal it caught again: -SIGTERM is a clean stop, -SIGKILL the stack giving up.
    assert notifier.returncode in (0, -signal.SIGTERM), f"the notifier was killed ({notifier.returncode})"
    webhook_id = in_flight.headers["webhook-id"]
    assert [item.status for item in system.receiver.answered("PDU-DUR") if item.webhook_id == webhook_id] == [204]

    system.stack.start_service("notifier")
    system.stack.wait_healthy("notifier")
    # Recorded before the stop: delivered at once after the restart, not sent again when a lease runs out.
    deliveries = wait_until_delivered(system, handover_id, DURHAM_RECIPIENTS)
    [probation] = [item for item in deliveries if item["agency_code"] == "PDU-DUR"]
    assert probation["webhook_id"] == webhook_id and probation["attempt_count"] == 1
    assert [item for item in system.receiver.to("PDU-DUR") if item.headers["webhook-id"] == webhook_id] == [in_flight]


@contextmanager
def database_away(system: RunningSystem, service: str) -> Iterator[None]:
    """Take ``service``'s database away for real, and give it back: the SQLite file moved aside, or the
    PostgreSQL database closed to connections with its sessions ended."""
    url = make_url(system.stack.database_url(service))
    if system.backend == "sqlite":
        path = str(url.database)
        os.rename(path, path + ".away")
        try:
            yield
        finally:
            os.rename(path + ".away", path)
        return
    name = url.database
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def readyz(system: RunningSystem, service: str) -> httpx.Response:
    with system.client(service, as_client=None) as client:
        return client.get("/readyz")


@pytest.mark.hazard("H71")
def test_readiness_answers_503_naming_the_database_while_it_is_down(system: RunningSystem) -> None:
    with database_away(system, "release_events"):
        down = eventually(
            lambda: (r := readyz(system, "release_events")).status_code == 503 and r,
            what="readiness to see the database gone",
        )
        assert down.headers["content-type"].startswith("application/problem+json")
        problem = down.json()
        assert problem["status"] == 503
        assert problem["down"] == ["database"]
        assert "database" in problem["detail"]
        assert problem["checks"]["broker"] == "ok"
        with system.client("release_events", as_client=None) as client:
            assert client.get("/healthz").status_code == 200  # alive: nothing to restart
        assert readyz(system, "handover").status_code == 200  # another service's database is its own
    eventually(lambda: readyz(system, "release_events").status_code == 200, what="readiness back")
