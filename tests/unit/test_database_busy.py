"""A database that is busy (SQLite locked by another process past the busy timeout) or away answers 503 with
Retry-After as a problem document, not 500: nothing was stored and the same request later will work."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from services.common.problems import DATABASE_RETRY_AFTER_SECONDS, PROBLEM_JSON, install_problem_handlers


@pytest.mark.hazard("H85")
def test_a_locked_database_answers_503_with_retry_after() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/things")
    async def store() -> None:
        raise OperationalError("INSERT INTO thing ...", {}, sqlite3.OperationalError("database is locked"))

    answer = TestClient(app).post("/v1/things")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.headers["retry-after"] == str(DATABASE_RETRY_AFTER_SECONDS)
    problem = answer.json()
    assert problem["type"].endswith("/database-unavailable")
    assert "INSERT" not in problem["detail"], "the statement (and its values) never reach the client"
