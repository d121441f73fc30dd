"""A subject-access export cannot forget a table: every table any service's migrations create is either
reached by a rule of ``ttg/subject_access.py`` or explained as holding nothing about a person; and the rules
find the person's rows, linked ones included, and nobody else's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.db import sync_url
from services.common.migrations import upgrade
from ttg import subject_access

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("release_events", "handover", "notifier")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, sa.Engine]]:
    """Each service's database as its migrations leave it (SQLite)."""
    folder = tmp_path_factory.mktemp("sar")
    engines = {}
    for service in SERVICES:
        url = f"sqlite:///{folder}/{service}.db"
        upgrade(url, ROOT / "services" / service / "migrations")
        engines[service] = sa.create_engine(sync_url(url))
    yield engines
    for engine in engines.values():
        engine.dispose()


def _tables(engine: sa.Engine) -> list[sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    return list(metadata.sorted_tables)


@pytest.mark.hazard("H19", "H54")
def test_every_table_of_every_service_is_searched_or_holds_no_person_data(migrated: dict[str, sa.Engine]) -> None:
    for service, engine in migrated.items():
        tables = _tables(engine)
        assert tables, service
        assert subject_access.unsearchable(tables) == [], (
            f"{service}: add a rule in ttg/subject_access.py, or the reason the table holds nothing about a person"
        )
    explained = set(subject_access.NO_PERSON_DATA)
    every = {t.name for engine in migrated.values() for t in _tables(engine)}
    assert explained <= every, f"NO_PERSON_DATA names tables no service has: {sorted(explained - every)}"


def test_a_table_with_no_rule_and_no_reason_is_named() -> None:
    metadata = sa.MetaData()
    sa.Table("sticky_notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))
    sa.Table("notes_about", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("handover_id", sa.Text))
    assert subject_access.unsearchable(metadata.sorted_tables) == ["sticky_notes"]


@pytest.mark.hazard("H54")
def test_linked_rows_are_found_across_services_and_another_persons_are_not(migrated: dict[str, sa.Engine]) -> None:
    now = datetime.now(UTC)
    with migrated["handover"].begin() as handover, migrated["notifier"].begin() as notifier:
        for person, handover_id in (("A1234BC", "h-mine"), ("Z9999ZZ", "h-other")):
            handover.execute(
                sa.text(
                    "INSERT INTO handover (id, notice_id, prison_number, establishment_code, release_date,"
                    " current_version, state, notice, created_at, updated_at)"
                    " VALUES (:id, :id, :pn, 'DMI', '2026-12-20', 1, 'open', '{}', :now, :now)"
                ),
                {"id": handover_id, "pn": person, "now": now},
            )
            notifier.execute(
                sa.text(
                    "INSERT INTO escalation (id, handover_id, agency_code, deadline, due_at, escalated_at, told)"
                    " VALUES (:id, :handover_id, 'CMHT-DUR', 'answer', :now, :now, 'DMI')"
                ),
                {"id": f"e-{handover_id}", "handover_id": handover_id, "now": now},
            )
        found = subject_access.gather({"handover": handover, "notifier": notifier}, {"A1234BC"})
        handover.rollback()
        notifier.rollback()
    assert [row["id"] for row in found["handover"]["tables"]["handover"]] == ["h-mine"]
    assert [row["id"] for row in found["notifier"]["tables"]["escalation"]] == ["e-h-mine"]
