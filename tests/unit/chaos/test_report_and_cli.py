"""The chaos summary (table, summary.json, violations by pseudonymous id) and the command line's refusals,
without starting a system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ttg.chaos import report
from ttg.chaos.__main__ import main
from ttg.chaos.invariants import Verdict
from ttg.chaos.plan import Profile
from ttg.chaos.runner import RunResult

COUNTS = {"accepted": 10, "packs": 10, "deliveries": 30, "repeats_same_id": 2, "answers": 3, "custody_events": 4}


def test_the_summary_totals_the_runs_and_names_violations_by_id(tmp_path: Path) -> None:
    clean = RunResult(0, 11, 12.5, Verdict(counts=dict(COUNTS)), kills={"handover": 1}, broker_restarts=1)
    broken = Verdict(counts=dict(COUNTS), violations=[("notice without its pack", "notice-id-1")])
    dirty = RunResult(1, 22, 10.0, broken, kills={"handover": 1, "notifier": 2}, database_restarts=1)
    document = report.summary(5, Profile(runs=2, notices=10), [clean, dirty])
    assert not document["clean"]
    assert document["totals"]["accepted"] == 20 and document["totals"]["repeats_same_id"] == 4
    assert document["totals"]["kills"] == {"handover": 2, "notifier": 2}
    assert document["totals"]["broker_restarts"] == 1 and document["totals"]["database_restarts"] == 1
    assert report.violations(document) == ["run 2: notice without its pack: notice-id-1"]
    lines = report.table(document).splitlines()
    assert len(lines) == 4 and lines[-1].split()[0] == "all" and lines[-1].endswith("1 violations")
    report.write(document, tmp_path / "chaos" / "summary.json")
    assert json.loads((tmp_path / "chaos" / "summary.json").read_text())["seed"] == 5


def test_two_replicas_on_sqlite_are_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--replicas", "2", "--backend", "sqlite", "--workdir", "/nonexistent"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
