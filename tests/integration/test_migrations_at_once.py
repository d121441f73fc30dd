"""Replicas starting at once on one fresh database: four processes run a service's upgrade at the same
moment; each must end well and the schema must be at head once (services/common/migrations.py serialises them:
an advisory lock on PostgreSQL, a flock beside the SQLite file)."""

from __future__ import annotations

import multiprocessing
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from services.common.db import sync_url
from services.common.migrations import _config, upgrade
from services.handover.wiring import MIGRATIONS
from tests.conftest import require_backend
from tests.support.system import POSTGRES_URL, drop_database

REPLICAS = 4


def _replica(url: str, start: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue[str]) -> None:
    """One replica's start: wait until all are ready, then migrate; report any failure with its traceback."""
    start.wait(timeout=60)
    try:
        upgrade(url, MIGRATIONS)
    except BaseException:
        errors.put(traceback.format_exc())
        raise SystemExit(1) from None


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    backend: str = request.param
    require_backend(backend)
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'handover.db'}"
        return
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/ttg_migrate_test_{uuid.uuid4().hex[:10]}"
    try:
        yield url
    finally:
        drop_database(url)


@pytest.mark.hazard("H87")
def test_replicas_starting_at_once_migrate_one_after_another(fresh_database: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(REPLICAS)
    errors: multiprocessing.Queue[str] = spawn.Queue()
    replicas = [spawn.Process(target=_replica, args=(fresh_database, start, errors)) for _ in range(REPLICAS)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=120)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert [replica.exitcode for replica in replicas] == [0] * REPLICAS, "\n".join(failures)
    assert failures == []
    head = ScriptDirectory.from_config(_config(fresh_database, MIGRATIONS)).get_current_head()
    engine = sa.create_engine(sync_url(fresh_database), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()
    assert versions == [head]
    assert "handover" in tables
