"""What a service process does while its database is away, without a database: HTTP callers get 503 problem
details with Retry-After (not a 500), and background loops retry with a backoff that starts again from its
first step once a loop has recovered."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from services.common.problems import PROBLEM_JSON, install_problem_handlers
from services.common.runtime import FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, STEADY_SECONDS, supervise

AWAY = [
    OperationalError("INSERT INTO notice VALUES (%s)", ("9990000018",), Exception("connection refused")),
    InterfaceError("SELECT 1", None, Exception("connection already closed")),
    PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached"),
]


@pytest.mark.hazard("H88")
@pytest.mark.parametrize("error", AWAY, ids=lambda error: type(error).__name__)
def test_a_database_that_does_not_answer_is_a_503_with_retry_after(error: Exception) -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/things")
    async def fail() -> None:
        raise error

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/v1/things")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json()["type"].endswith("/database-unavailable")
    assert "9990000018" not in answer.text


def test_other_failures_stay_500() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/things")
    async def fail() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/things")
    assert answer.status_code == 500
    assert "retry-after" not in answer.headers


class FakeTime:
    """A clock that moves only when a loop 'runs' or the supervisor 'sleeps'."""

    def __init__(self) -> None:
        self.at = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += seconds


@pytest.mark.hazard("H88")
def test_the_backoff_grows_while_a_loop_keeps_failing_and_starts_again_after_it_recovered() -> None:
    time = FakeTime()
    runs = iter([0.0] * 8 + [STEADY_SECONDS + 1, 0.0, None])  # seconds each run lasts; None: it ends

    async def loop() -> None:
        lasted = next(runs)
        if lasted is None:
            return
        time.at += lasted
        raise OperationalError("SELECT 1", None, Exception("connection refused"))

    asyncio.run(supervise("test-loop", loop, sleep=time.sleep, now=time.now))
    assert time.slept[:8] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, MAX_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS]
    assert time.slept[8:] == [FIRST_BACKOFF_SECONDS, 2 * FIRST_BACKOFF_SECONDS]
