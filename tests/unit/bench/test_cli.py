"""``./run bench``'s arguments and profiles: what CI's ``--quick --seed 13`` selects, and ``--only``."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench.cli import RUN_ORDER, arguments
from benchmarks.bench.profiles import PHASES, PROFILES, parse_only, select


def test_defaults_are_the_full_profile_on_sqlite_with_every_phase() -> None:
    args = arguments([])
    assert (args.quick, args.backend, args.seed, args.workdir) == (False, "sqlite", None, Path("var/bench"))
    assert args.phases == PHASES


def test_ci_arguments_select_the_quick_profile() -> None:
    args = arguments(["--quick", "--seed", "13", "--backend", "postgresql", "--only", "p3, P1"])
    assert select(args.quick).name == "quick"
    assert args.seed == 13 and args.backend == "postgresql"
    assert args.phases == ("P1", "P3")


def test_only_p6_runs_p2_during_which_it_is_measured() -> None:
    assert parse_only("P6") == ("P2", "P6")


def test_an_unknown_phase_or_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="P9"):
        parse_only("P1,P9")
    with pytest.raises(SystemExit):
        arguments(["--only", "P7"])
    with pytest.raises(SystemExit):
        arguments(["--backend", "mysql"])


def test_the_quick_profile_is_smaller_than_the_full_one_in_every_load() -> None:
    quick, full = PROFILES["quick"], PROFILES["full"]
    assert quick.steady_rate * quick.steady_seconds < full.steady_rate * full.steady_seconds
    assert quick.burst < full.burst and quick.backlog < full.backlog
    assert quick.intake_seconds < full.intake_seconds and quick.faults_seconds < full.faults_seconds
    assert (full.steady_rate, full.steady_seconds, full.burst) == (50.0, 60.0, 10_000)  # issue 13's P1 and P2


def test_every_measured_phase_has_its_place_in_the_run_order_with_p3_last() -> None:
    assert set(RUN_ORDER) == set(PHASES) - {"P6"}
    assert RUN_ORDER[-1] == "P3"


def test_without_wrk_p3_is_refused_before_anything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench import cli

    def must_not_run(*_: object) -> None:
        raise AssertionError("the system was started")

    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    monkeypatch.setattr(cli, "run", must_not_run)
    assert cli.main(["--quick", "--only", "P3"]) == 2
