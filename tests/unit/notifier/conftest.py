"""Fixtures of the notifier's unit tests: a migrated SQLite database of the notifier's own, and directories
whose webhooks point at local http receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.db import Database
from services.common.migrations import upgrade
from services.notifier.domain.agencies import Directory
from services.notifier.wiring import MIGRATIONS
from tests.unit.notifier.store_support import local_directory


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'notifier.db'}"
    upgrade(url, MIGRATIONS)
    db = Database(url)
    yield db
    await db.dispose()


@pytest.fixture(autouse=True)
def _local_webhook_targets_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_HTTP", "true")
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    """The store tests' agencies (modules with agencies of their own define their own ``directory``)."""
    return local_directory(tmp_path)
