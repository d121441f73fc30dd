"""Shared fixtures. Acceptance tests run the whole system once per database backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.system import POSTGRES_URL, RunningSystem, start_system, stop_system

pytest_plugins = ["tests.hazards", "pytester"]  # hazards: every hazard's tests ran and passed

BACKENDS = ["sqlite", "postgresql"]


def postgres_available() -> str | None:
    """None when the test PostgreSQL server answers, otherwise why not."""
    try:
        engine = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        return f"{type(error).__name__}: {error}"


def require_backend(backend: str) -> None:
    if backend != "postgresql":
        return
    problem = postgres_available()
    if problem is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({problem})"
    if os.environ.get("CI") or os.environ.get("TTG_REQUIRE_POSTGRES"):
        pytest.fail(message)
    pytest.skip(message + "; set TTG_TEST_POSTGRES_URL, or start PostgreSQL")


@pytest.fixture(scope="module", params=BACKENDS)
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The running system on one backend, shared by one test module."""
    backend: str = request.param
    require_backend(backend)
    tmp: Path = tmp_path_factory.mktemp(f"system-{backend}")
    running = start_system(tmp, backend)
    try:
        yield running
    finally:
        stop_system(running)
