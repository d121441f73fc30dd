"""An operator's outbox replay (``services/common/outbox_replay.py``): which windows it refuses, and that it takes
back exactly the rows published in the window, on a real SQLite outbox, with an audit record of counts only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from services.common.audit import AuditRecord
from services.common.audit_verify import verify_connection
from services.common.auth import Principal
from services.common.db import Database
from services.common.migrations import upgrade
from services.common.outbox import OutboxMessage
from services.common.outbox_replay import ReplayRefused, ReplayWindow, check_window, replay_outbox
from services.common.roles import ROLE_SCOPES, Role

MIGRATIONS = Path("services/release_events/migrations")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
RETAINED = timedelta(hours=720)
OPERATOR = Principal("ops-1", "TTG-OPS", Role.OPERATOR, ROLE_SCOPES[Role.OPERATOR], frozenset())


@pytest.mark.hazard("H84")
@pytest.mark.parametrize(
    ("since", "until", "kind"),
    [
        (NOW + timedelta(minutes=1), None, "replay-window-in-future"),
        (NOW - timedelta(hours=1), NOW + timedelta(hours=1), "replay-window-in-future"),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=2), "replay-window-invalid"),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=1), "replay-window-invalid"),
        (NOW - RETAINED - timedelta(seconds=1), None, "replay-window-beyond-retention"),
        (datetime(2026, 12, 2, 9, 0), None, "replay-window-invalid"),  # no offset: ambiguous
    ],
)
def test_a_window_that_cannot_mean_what_was_asked_is_refused(
    since: datetime, until: datetime | None, kind: str
) -> None:
    with pytest.raises(ReplayRefused) as refused:
        check_window(ReplayWindow(since, until), now=NOW, replay_window=RETAINED)
    assert refused.value.kind == kind


def test_a_window_beyond_retention_names_the_earliest_start_allowed() -> None:
    with pytest.raises(ReplayRefused) as refused:
        check_window(ReplayWindow(NOW - timedelta(days=31)), now=NOW, replay_window=RETAINED)
    assert refused.value.extensions == {"earliest": (NOW - RETAINED).isoformat()}
    assert "720 hours" in refused.value.detail


def test_a_window_inside_the_retained_rows_up_to_now_is_accepted() -> None:
    check_window(ReplayWindow(NOW - RETAINED, NOW), now=NOW, replay_window=RETAINED)
    check_window(ReplayWindow(NOW - timedelta(minutes=5)), now=NOW, replay_window=RETAINED)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'release_events.db'}"
    upgrade(url, MIGRATIONS)
    db = Database(url)
    yield db
    await db.dispose()


async def _stage(database: Database, rows: list[tuple[str, datetime | None]]) -> None:
    """Outbox rows (topic, published at) with partitions and offsets as the relay leaves them."""
    async with database.transaction() as session:
        for n, (topic, published_at) in enumerate(rows):
            session.add(
                OutboxMessage(
                    event_id=f"evt-{n}",
                    topic=topic,
                    key="A1234BC",
                    event_type="test",
                    payload="{}",
                    created_at=NOW - timedelta(hours=10),
                    published_at=published_at,
                    kafka_partition=0 if published_at else None,
                    kafka_offset=n if published_at else None,
                )
            )


async def _unpublished(database: Database) -> list[str]:
    async with database.session() as session:
        rows = await session.exec(
            select(OutboxMessage.event_id).where(col(OutboxMessage.published_at).is_(None)).order_by(OutboxMessage.id)
        )
        return list(rows.all())


@pytest.mark.hazard("H84")
async def test_only_rows_published_in_the_window_are_taken_back_and_the_replay_is_audited(
    database: Database,
) -> None:
    at = [NOW - timedelta(hours=hours) for hours in (9, 6, 5, 4, 2)]
    await _stage(
        database,
        [
            ("custody.events.v1", at[0]),  # before the window
            ("custody.events.v1", at[1]),  # at its start: in
            ("handover.events.v1", at[2]),
            ("custody.events.v1", at[3]),
            ("custody.events.v1", at[4]),  # at its end: out
            ("custody.events.v1", None),  # never published: the relay sends it anyway, not counted
        ],
    )
    done = await replay_outbox(
        database=database,
        actor=OPERATOR,
        window=ReplayWindow(at[1], at[4]),
        now=NOW,
        replay_window=RETAINED,
        correlation_id="corr-1",
    )

    assert done.rows == 3
    assert done.by_topic == {"custody.events.v1": 2, "handover.events.v1": 1}
    assert await _unpublished(database) == ["evt-1", "evt-2", "evt-3", "evt-5"]
    async with database.session() as session:
        records = (await session.exec(select(AuditRecord).where(AuditRecord.action == "outbox.replayed"))).all()
        verdict = await (await session.connection()).run_sync(verify_connection)
    assert verdict.intact, verdict
    [record] = records
    assert (record.actor, record.actor_role, record.correlation_id) == ("ops-1", "operator", "corr-1")
    assert json.loads(record.details) == {
        "rows": 3,
        "by_topic": {"custody.events.v1": 2, "handover.events.v1": 1},
        "since": at[1].isoformat(),
        "until": at[4].isoformat(),
    }
    assert record.subject is None, "a replay is about the outbox, never a person"


async def test_a_refused_window_takes_nothing_back_and_records_nothing(database: Database) -> None:
    await _stage(database, [("custody.events.v1", NOW - timedelta(hours=1))])
    with pytest.raises(ReplayRefused):
        await replay_outbox(
            database=database,
            actor=OPERATOR,
            window=ReplayWindow(NOW + timedelta(hours=1)),
            now=NOW,
            replay_window=RETAINED,
        )
    assert await _unpublished(database) == []
    async with database.session() as session:
        assert (await session.exec(select(AuditRecord).where(AuditRecord.action == "outbox.replayed"))).all() == []


def test_only_operators_hold_the_scope_to_replay_the_outbox() -> None:
    holders = {role for role, scopes in ROLE_SCOPES.items() if any(scope.value == "outbox:replay" for scope in scopes)}
    assert holders == {Role.OPERATOR}
