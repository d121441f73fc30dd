"""The two plain-ASGI layers every service's app has around its routes: correlation ids (taken from the caller or
made, seen by the route, echoed on every answer, problems included) and the declared body-size cap."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from services.common.hardening import install_body_limit
from services.common.problems import Problem, install_problem_handlers
from services.common.runtime import CORRELATION_HEADER, install_correlation_ids


def client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    install_correlation_ids(app)
    install_body_limit(app, 100)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, str]:
        bound = structlog.contextvars.get_contextvars().get("correlation_id", "")
        return {"state": request.state.correlation_id, "logs": bound, "body": (await request.body()).decode()}

    @app.get("/refused")
    async def refused() -> None:
        raise Problem(409, "Refused", "No.", "refused")

    return TestClient(app)


def test_the_callers_correlation_id_reaches_the_route_and_its_logs_and_comes_back() -> None:
    answer = client().post("/echo", content=b"hello", headers={CORRELATION_HEADER: "caller-id-1"})
    assert answer.json() == {"state": "caller-id-1", "logs": "caller-id-1", "body": "hello"}
    assert answer.headers[CORRELATION_HEADER] == "caller-id-1"


def test_a_missing_or_unusable_correlation_id_is_replaced_by_a_new_one() -> None:
    test_client = client()
    made = test_client.post("/echo", content=b"x").headers[CORRELATION_HEADER]
    too_long = test_client.post("/echo", content=b"x", headers={CORRELATION_HEADER: "a" * 65})
    assert len(made) == 36 and too_long.json()["state"] == too_long.headers[CORRELATION_HEADER] != "a" * 65


def test_a_problem_answer_carries_the_correlation_id_too() -> None:
    answer = client().get("/refused", headers={CORRELATION_HEADER: "caller-id-2"})
    assert answer.status_code == 409 and answer.headers[CORRELATION_HEADER] == "caller-id-2"


def test_a_declared_body_over_the_cap_is_refused_unread_with_413_problem_json() -> None:
    test_client = client()
    over = test_client.post("/echo", content=b"x" * 101)
    assert over.status_code == 413 and over.headers["content-type"] == "application/problem+json"
    assert over.json()["instance"] == "/echo"
    assert test_client.post("/echo", content=b"x" * 100).status_code == 200
    bad_length = test_client.post("/echo", content=b"x", headers={"content-length": "ten"})
    assert bad_length.status_code == 413
