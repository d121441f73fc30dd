"""Verifying the audit chain of a live system (``ttg audit verify``, the chaos profile's final check) while a
service still appends to it: the verdict is about the chain at one moment, so an append that commits while the
chain is being read is never reported as a break. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common import audit, audit_verify
from services.common.db import sync_url
from services.notifier.wiring import MIGRATIONS
from tests.support.scratch_db import migrated_database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with migrated_database_url(request.param, tmp_path, MIGRATIONS, "audit_live") as url:
        engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
        if request.param == "sqlite":  # as the services open it (services/common/db.py): readers never block a writer
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        try:
            yield engine
        finally:
            engine.dispose()


def append(engine: sa.Engine, n: int) -> None:
    entry = audit.AuditEntry.system("test", action="delivery.finished", resource_type="delivery", resource_id=str(n))
    with engine.begin() as connection:
        audit.append_on(connection, entry, datetime.now(UTC))


@pytest.mark.hazard("H09")
def test_an_append_committed_while_the_chain_is_read_is_not_reported_as_a_break(engine: sa.Engine) -> None:
    for n in range(5):
        append(engine, n)
    appended_meanwhile: list[int] = []

    def another_replica_appends(*_: Any) -> None:  # after the verifier's first statement, before any other
        if not appended_meanwhile:
            appended_meanwhile.append(6)
            append(engine, 6)

    with engine.connect() as connection:
        sa.event.listen(connection, "after_cursor_execute", another_replica_appends)
        verdict = audit_verify.verify_connection(connection)
    assert appended_meanwhile, "the append did not happen during the verification"
    assert verdict.intact, verdict.describe()
    assert verdict.records == verdict.head_seq == 5  # the chain as it stood when it was read
    with engine.connect() as connection:
        after = audit_verify.verify_connection(connection)
    assert after.intact and after.records == after.head_seq == 6, after.describe()


@pytest.mark.hazard("H09")
def test_a_record_beyond_the_head_is_still_named(engine: sa.Engine) -> None:
    """Reading in one statement does not hide a record inserted after the newest one without moving the head."""
    for n in range(3):
        append(engine, n)
    with engine.begin() as connection:  # the head is put back, as a tamperer who appended a record would leave it
        head = connection.execute(sa.text("SELECT seq, hash FROM audit_head")).one()
        append_entry = audit.AuditEntry.system("test", action="x", resource_type="x")
        audit.append_on(connection, append_entry, datetime.now(UTC))
        connection.execute(sa.text("UPDATE audit_head SET seq = :seq, hash = :hash"), dict(head._mapping))
    with engine.connect() as connection:
        verdict = audit_verify.verify_connection(connection)
    assert not verdict.intact and verdict.head_seq == 3 and verdict.records == 4, verdict.describe()
    assert "the chain ends at record 4 but the head names record 3" in (verdict.reason or "")
