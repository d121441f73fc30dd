"""The audit chain: pure verification names the first broken link; appends on a real database stay a chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from services.common import audit, audit_verify
from services.common.db import Database, sync_url
from services.common.migrations import upgrade
from services.release_events.adapters.tables import IdempotencyRecord

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "release_events" / "migrations"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def chain(length: int) -> list[dict[str, Any]]:
    rows, previous = [], audit.GENESIS
    for seq in range(1, length + 1):
        row = {
            "seq": seq,
            "record_id": f"r{seq}",
            "at": T0 + timedelta(seconds=seq),
            "actor": "a",
            "actor_role": "operator",
            "actor_organisation": "o",
            "action": "x.read",
            "resource_type": "x",
            "resource_id": str(seq),
            "subject": None,
            "outcome": "ok",
            "details": "{}",
            "correlation_id": None,
            "prev_hash": previous,
        }
        row["hash"] = previous = audit.record_hash(row)
        rows.append(row)
    return rows


def check(rows: list[dict[str, Any]], head: dict[str, Any]) -> audit_verify.ChainVerdict:
    return audit_verify.verify(rows, head["seq"], head["hash"])


def test_an_untouched_chain_is_intact() -> None:
    rows = chain(5)
    verdict = check(rows, rows[-1])
    assert verdict.intact and verdict.records == 5
    assert audit_verify.verify([], 0, audit.GENESIS).intact


@pytest.mark.parametrize("seq", [1, 3, 5])
@pytest.mark.parametrize("field", ["actor", "outcome", "details", "at", "subject"])
def test_changing_any_field_of_any_record_is_named(seq: int, field: str) -> None:
    rows = chain(5)
    head = rows[-1]
    rows[seq - 1] = {**rows[seq - 1], field: T0 if field == "at" else "changed"}
    verdict = check(rows, head)
    assert not verdict.intact and verdict.broken_at == seq


def test_rehashing_a_changed_record_still_breaks_the_next_link() -> None:
    rows = chain(5)
    head = rows[-1]
    rows[1] = {**rows[1], "actor": "changed"}
    rows[1]["hash"] = audit.record_hash(rows[1])
    verdict = check(rows, head)
    assert verdict.broken_at == 3 and "link" in (verdict.reason or "")


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_deleting_any_record_is_named(seq: int) -> None:
    rows = chain(5)
    head = rows[-1]
    del rows[seq - 1]
    verdict = check(rows, head)
    assert not verdict.intact and verdict.broken_at == seq


@pytest.mark.hazard("H09")
@pytest.mark.parametrize("first", [1, 2, 4])
def test_swapping_two_records_is_named(first: int) -> None:
    rows = chain(5)
    head = rows[-1]
    a, b = rows[first - 1], rows[first]
    rows[first - 1], rows[first] = {**b, "seq": first}, {**a, "seq": first + 1}
    verdict = check(rows, head)
    assert not verdict.intact and verdict.broken_at == first


def test_a_head_that_does_not_match_the_last_record_is_named() -> None:
    rows = chain(3)
    assert check(rows, {"seq": 4, "hash": "f" * 64}).broken_at == 4


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade(url, MIGRATIONS)
    database = Database(url)
    yield database
    await database.dispose()


async def test_concurrent_appends_form_one_intact_chain_and_the_table_refuses_edits(
    database: Database,
) -> None:
    entries = [
        audit.AuditEntry.system("test", action="x.done", resource_type="x", resource_id=str(n), details={"n": n})
        for n in range(30)
    ]
    await asyncio.gather(*(audit.append(database, entry, datetime.now(UTC)) for entry in entries))
    await database.dispose()
    engine = sa.create_engine(sync_url(database.url))
    with engine.connect() as connection:
        verdict = audit_verify.verify_connection(connection)
    assert verdict.intact and verdict.records == 30, verdict.describe()
    for statement in ("UPDATE audit_record SET actor = 'x'", "DELETE FROM audit_record"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(sa.text(statement))
    engine.dispose()


@pytest.mark.hazard("H89")
async def test_a_batch_chains_its_units_records_with_one_head_update_and_drops_an_undone_units_record(
    database: Database,
) -> None:
    head_updates: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE AUDIT_HEAD"):
            head_updates.append(statement)

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    async with database.batch():
        for n in range(4):
            try:
                async with database.transaction() as session:
                    entry = audit.AuditEntry.system("test", action="x.done", resource_type="x", resource_id=str(n))
                    await audit.record(session, entry, datetime.now(UTC))
                    if n == 2:
                        raise ValueError("this unit of work is undone")
            except ValueError:
                pass
    sa.event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(head_updates) == 2, "the head is locked once and moved once for the whole batch"
    async with database.session() as session:
        found = await session.run_sync(
            lambda sync: [r.resource_id for r in sync.execute(sa.select(audit.AuditRecord.resource_id))]
        )
        verdict = await session.run_sync(lambda sync: audit_verify.verify_connection(sync.connection()))
    assert sorted(found) == ["0", "1", "3"]
    assert verdict.intact and verdict.records == 3, verdict.describe()


def entry(n: int) -> audit.AuditEntry:
    return audit.AuditEntry.system("test", action="x.done", resource_type="x", resource_id=str(n))


async def test_the_log_names_a_head_only_once_it_has_committed(database: Database) -> None:
    def commit_fails(*_: object) -> None:  # as a COMMIT lost with its connection, after the chaining
        raise ConnectionError("the connection dropped during COMMIT")

    sa.event.listen(database.engine.sync_engine, "commit", commit_fails)
    with capture_logs() as logged, pytest.raises(ConnectionError):
        await audit.append(database, entry(1), T0)
    sa.event.remove(database.engine.sync_engine, "commit", commit_fails)
    assert [line for line in logged if line["event"] == "audit.appended"] == [], "a head that never committed"

    with capture_logs() as logged:
        await audit.append(database, entry(2), T0)
    async with database.session() as session:
        verdict = await session.run_sync(lambda sync: audit_verify.verify_connection(sync.connection()))
    [line] = [line for line in logged if line["event"] == "audit.appended"]
    assert (line["audit_seq"], line["audit_hash"]) == (verdict.head_seq, verdict.head_hash) == (1, verdict.head_hash)
    assert verdict.intact and verdict.records == 1


async def test_a_transactions_pending_inserts_are_flushed_before_the_head_is_locked(database: Database) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lstrip().split("(")[0].upper())

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    async with database.transaction() as session:
        session.add(
            IdempotencyRecord(scope="s", key="k", request_hash="h", status_code=202, response_body="{}", created_at=T0)
        )
        await audit.record(session, entry(1), T0)
    sa.event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    written = [statement for statement in statements if statement.startswith(("INSERT", "UPDATE"))]
    assert written[0].startswith("INSERT INTO IDEMPOTENCY_KEY"), written
    assert written[1].startswith("UPDATE AUDIT_HEAD"), written
