"""A migrated database of one service for a test, on SQLite (a file in the test's folder) or on the local
PostgreSQL server (a database of its own, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.common.migrations import upgrade
from tests.conftest import require_backend
from tests.support.system import POSTGRES_URL, drop_database


@contextmanager
def migrated_database_url(backend: str, folder: Path, migrations: Path, name: str) -> Iterator[str]:
    """The URL of a fresh database with ``migrations`` applied; skipped (or failed, when required) without
    the backend."""
    require_backend(backend)
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'{name}.db'}"
    else:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/ttg_{name}_test_{uuid.uuid4().hex[:10]}"
    upgrade(url, migrations)
    try:
        yield url
    finally:
        if backend == "postgresql":
            drop_database(url)
