"""Issue 12's short chaos profile, run through the harness's Python API (``ttg/chaos``) and held to a clean
summary and to the faults its plan promised (``tests/acceptance/test_chaos.py`` runs it on PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.seeding import seeded_rng
from ttg.chaos import report
from ttg.chaos.plan import Backend, Profile, targets
from ttg.chaos.postgres_cluster import unavailable
from ttg.chaos.runner import run_session


def short_profile_holds(backend: Backend, *, runs: int, notices: int, tmp_path: Path) -> None:
    """Run the short profile (two replicas of every service on PostgreSQL) and check everything it promises."""
    if backend == "postgresql":
        problem = unavailable()
        if problem:  # CI (TTG_REQUIRE_POSTGRES) has the server binaries: there a missing one fails the run
            (pytest.fail if os.environ.get("TTG_REQUIRE_POSTGRES") else pytest.skip)(problem)
    replicas = 2 if backend == "postgresql" else 1
    profile = Profile(name="short", runs=runs, notices=notices, backend=backend, replicas=replicas)
    seed = seeded_rng().getrandbits(63)
    results = run_session(seed, profile, tmp_path)
    document = report.summary(seed, profile, results)
    print(report.table(document))
    assert document["clean"], "\n".join(report.violations(document)[:40])

    totals = document["totals"]
    assert totals["accepted"] == totals["packs"] == runs * notices
    assert totals["deliveries"] >= totals["packs"] * 3  # every place's packs go to three agencies at least
    assert totals["sent_twice"] == totals["order_violations"] == totals["answers_applied_twice"] == 0
    assert totals["dead_letters"] == 0
    assert set(totals["kills"]) == set(targets(profile)) and min(totals["kills"].values()) >= 1
    assert totals["broker_restarts"] == 1
    assert totals["database_restarts"] == (1 if backend == "postgresql" else 0)
    assert {run["replicas"] for run in document["runs"]} == {replicas}
    assert all(run["answers"] > 0 for run in document["runs"]), "agencies answered in every run"
