"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.common.db import Database
from services.handover.wiring import MIGRATIONS as HANDOVER_MIGRATIONS
from tests.conftest import BACKENDS
from tests.support.scratch_db import migrated_database_url
from ttg.broker import EmbeddedBroker


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    """One embedded broker per test module (each test makes topics of its own, with the partitions it needs)."""
    with EmbeddedBroker(partitions=3) as running:
        yield running


@pytest.fixture(params=BACKENDS)
async def handover_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, migrated handover database for one test, on SQLite and on PostgreSQL."""
    with migrated_database_url(request.param, tmp_path, HANDOVER_MIGRATIONS, "handover") as url:
        database = Database(url)
        yield database
        await database.dispose()
