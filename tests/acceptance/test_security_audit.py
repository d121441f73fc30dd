"""Issue 6 acceptance: every access is on a record no one can quietly change, and logs hold no person. Runs on
the real services, broker and databases (SQLite and PostgreSQL), real HTTP.

* changing, deleting or reordering any one audit record is caught by ``ttg audit verify`` (the real CLI);
* reads are audited with who, when and which sections; a subject-access export gathers everything;
* the journey's logs hold none of the synthetic person's identifiers, nor any API key.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from services.common.db import sync_url
from tests.support.journeys import (
    DURHAM,
    Journey,
    expected_sections,
    identifiers,
)
from tests.support.system import RunningSystem
from ttg.cli import app as cli_app
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]


# --- the audit trail -----------------------------------------------------------------------------------


def verify_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    """``ttg audit verify`` as an operator runs it: a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "ttg.cli", "audit", "verify", "--database-url", database_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def verify_command(database_url: str) -> tuple[int, str]:
    """The same command run in this process (its exit code and output), for the many tamperings: a process
    each would spend most of the test importing the CLI."""
    result = CliRunner().invoke(cli_app, ["audit", "verify", "--database-url", database_url])
    return result.exit_code, result.output


class AuditTable:
    """Direct access to a service's audit table, as an attacker with database rights would have."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
        self.postgres = self.engine.dialect.name == "postgresql"

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [
                dict(row._mapping) for row in connection.execute(sa.text("SELECT * FROM audit_record ORDER BY seq"))
            ]

    def tamper(self, *statements: tuple[str, dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            if self.postgres:
                connection.execute(sa.text("ALTER TABLE audit_record DISABLE TRIGGER USER"))
            else:
                connection.execute(sa.text("DROP TRIGGER IF EXISTS audit_record_no_update"))
                connection.execute(sa.text("DROP TRIGGER IF EXISTS audit_record_no_delete"))
            for statement, params in statements:
                connection.execute(sa.text(statement), params)
            if self.postgres:
                connection.execute(sa.text("ALTER TABLE audit_record ENABLE TRIGGER USER"))
            else:
                for verb in ("UPDATE", "DELETE"):
                    connection.execute(
                        sa.text(
                            f"CREATE TRIGGER audit_record_no_{verb.lower()} BEFORE {verb} ON audit_record "
                            "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
                        )
                    )

    def restore(self, snapshot: list[dict[str, Any]]) -> None:
        columns = list(snapshot[0])
        insert = f"INSERT INTO audit_record ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        self.tamper(("DELETE FROM audit_record", {}), *[(insert, row) for row in snapshot])


@pytest.mark.hazard("H09")
def test_the_audit_trail_is_append_only_and_any_tampering_is_named_by_the_verify_cli(
    system: RunningSystem, journeys: dict[str, Journey]
) -> None:
    url = system.stack.database_url("release_events")
    with system.client("release_events", "prison-dmi") as http:  # a few more records of submissions and reads
        for _ in range(2):
            accepted = http.post("/v1/release-notices", json=release_notice(place="durham")).json()
            assert http.get(accepted["status_url"]).status_code == 200
    table = AuditTable(url)
    snapshot = table.rows()
    assert len(snapshot) >= 6
    actions = {row["action"] for row in snapshot}
    assert {"notice.submitted", "notice.read"} <= actions
    intact = verify_cli(url)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert f"intact: {len(snapshot)} records" in intact.stdout

    with pytest.raises(sa.exc.DBAPIError), table.engine.begin() as connection:  # the database refuses edits
        connection.execute(sa.text("UPDATE audit_record SET actor = 'someone-else' WHERE seq = 1"))
    with pytest.raises(sa.exc.DBAPIError), table.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_record WHERE seq = 1"))

    last = snapshot[-1]["seq"]
    middle = snapshot[len(snapshot) // 2]["seq"]
    tamperings: list[tuple[str, list[tuple[str, dict[str, Any]]], int]] = []
    for seq in (1, middle, last):
        tamperings.append(
            (
                f"change record {seq}",
                [("UPDATE audit_record SET actor = 'someone-else' WHERE seq = :seq", {"seq": seq})],
                seq,
            )
        )
        tamperings.append(
            (
                f"change the outcome of record {seq}",
                [("UPDATE audit_record SET outcome = 'denied' WHERE seq = :seq", {"seq": seq})],
                seq,
            )
        )
        tamperings.append((f"delete record {seq}", [("DELETE FROM audit_record WHERE seq = :seq", {"seq": seq})], seq))
    for first in (1, middle, last - 1):
        tamperings.append(
            (
                f"swap records {first} and {first + 1}",
                [
                    ("UPDATE audit_record SET seq = -1 WHERE seq = :a", {"a": first}),
                    ("UPDATE audit_record SET seq = :a WHERE seq = :b", {"a": first, "b": first + 1}),
                    ("UPDATE audit_record SET seq = :b WHERE seq = -1", {"b": first + 1}),
                ],
                first,
            )
        )
    for what, statements, seq in tamperings:
        table.tamper(*statements)
        try:
            code, output = verify_command(url)
            assert code == 1, f"{what}: not detected\n{output}"
            assert f"broken at record {seq}:" in output, f"{what}: {output}"
        finally:
            table.restore(snapshot)
    restored = verify_cli(url)
    assert restored.returncode == 0, restored.stdout


@pytest.mark.hazard("H10")
def test_reads_are_audited_with_who_when_and_which_sections(
    system: RunningSystem, journeys: dict[str, Journey]
) -> None:
    durham = journeys["dmi"]
    with system.client("handover", "probation-dur") as http:
        assert http.get(f"/v1/handovers/{durham.handover_id}").status_code == 200
    with system.client("handover", "gp-A99003") as http:
        assert http.get(f"/v1/handovers/{durham.handover_id}").status_code == 404
    with system.client("handover", "operator") as http:
        records = http.get("/v1/audit", params={"subject": durham.notice["prison_number"], "limit": 1000}).json()
    reads = [r for r in records if r["action"] == "handover.read" and r["actor"] == "probation-dur"]
    assert reads and set(reads[-1]["details"]["sections"]) == expected_sections(system, durham, "probation-dur")
    assert reads[-1]["resource_id"] == durham.handover_id and reads[-1]["at"]
    denied = [r for r in records if r["action"] == "handover.read_denied" and r["actor"] == "gp-A99003"]
    assert denied and denied[-1]["outcome"] == "denied"
    with system.client("notifier", "operator") as http:
        finished = http.get("/v1/audit", params={"subject": durham.notice["prison_number"]}).json()
    assert {r["details"]["agency_code"] for r in finished if r["action"] == "delivery.finished"} == DURHAM


@pytest.mark.hazard("H19")
def test_a_subject_access_export_gathers_everything_held_about_one_person(
    system: RunningSystem, journeys: dict[str, Journey], tmp_path: Path
) -> None:
    durham = journeys["dmi"]
    out = tmp_path / "sar.json"
    urls = [
        f"--database-url={name}={system.stack.database_url(name)}"
        for name in ("release_events", "handover", "notifier")
    ]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ttg.cli",
            "subject-access",
            "export",
            *urls,
            "--operator",
            "dpo-test",
            "--nhs-number",
            durham.notice["nhs_number"],
            "--out",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    export = json.loads(out.read_text())
    assert export["prison_numbers"] == [durham.notice["prison_number"]]
    services = export["services"]
    assert [n["id"] for n in services["release_events"]["release_notice"]] == [durham.notice_id]
    assert [r["establishment_code"] for r in services["release_events"]["custody_register"]] == ["DMI"]
    assert [h["id"] for h in services["handover"]["handover"]] == [durham.handover_id]
    assert {d["agency_code"] for d in services["notifier"]["delivery"]} == DURHAM
    assert services["handover"]["audit_record"] and services["notifier"]["audit_record"]
    assert journeys["bmi"].notice["prison_number"] not in out.read_text()
    for name in ("release_events", "handover", "notifier"):
        assert verify_cli(system.stack.database_url(name)).returncode == 0


# --- logs ----------------------------------------------------------------------------------------------


@pytest.mark.hazard("H08")
def test_the_journeys_logs_hold_no_identifier_of_the_person_and_no_key(
    system: RunningSystem, journeys: dict[str, Journey]
) -> None:
    durham = journeys["dmi"]
    # Also the paths where input is echoed back: a notice with a bad NHS number and an unknown field.
    bad = dict(durham.notice, nhs_number=durham.notice["nhs_number"][:9] + "x", nickname=durham.notice["given_name"])
    with system.client("release_events", "prison-dmi") as http:
        assert http.post("/v1/release-notices", json=bad).status_code == 422
    logs = sorted((system.stack.config.data_dir / "logs").glob("*.log"))
    assert {path.stem for path in logs} >= {"release_events", "handover", "notifier"}
    text = {path.name: path.read_text(errors="replace") for path in logs}
    assert "handover.pack_issued" in text["handover.log"]  # the logs are the journey's, not empty
    postcode = durham.notice["release"]["destination"]["address"]["postcode"]
    secrets = [*system.api_keys.values(), *system.secrets.values()]
    forbidden = [*identifiers(durham.notice), postcode.replace(" ", ""), *secrets]
    leaks = [(name, value) for name, content in text.items() for value in forbidden if value in content]
    assert not leaks, f"personal data or keys in logs: {leaks}"
