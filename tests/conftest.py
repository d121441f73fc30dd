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


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle, which it keeps among modules of equal weight
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules that run for minutes first (``runs_long``), longest first.

    ``./run test`` hands whole modules to its workers in collection order (``--dist loadfile``), so a module of
    three minutes picked up last would end the run alone while the other workers stand idle; started first, the
    short modules fill in around it. The sort is stable and the same in every worker, as xdist requires."""
    items.sort(key=lambda item: -_expected_seconds(item))


def _expected_seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("runs_long")
    return float(marker.kwargs.get("seconds", 0)) if marker else 0.0


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
