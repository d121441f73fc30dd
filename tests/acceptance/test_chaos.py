"""Issue 12's short chaos profile as a test, through the harness's Python API (``ttg/chaos``): three runs of
the whole system under SIGKILLs of every service, a broker restart, and on PostgreSQL a database-server crash
and two replicas of every service; the invariants hold (nothing lost, nothing applied twice, order held, audit
chains intact, no dead letters, no personal data in the logs) and the planned faults really happened.

The PostgreSQL runs use a throwaway server of their own (``ttg/chaos/postgres_cluster.py``): the shared one
is never restarted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support.seeding import seeded_rng
from ttg.chaos import report
from ttg.chaos.plan import Profile, targets
from ttg.chaos.postgres_cluster import unavailable
from ttg.chaos.runner import run_session

pytestmark = pytest.mark.acceptance

SHORT_RUNS = 3
SHORT_NOTICES = 200


@pytest.mark.hazard("H81", "H83")
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_short_chaos_profile_loses_nothing_and_applies_nothing_twice(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql":
        problem = unavailable()
        if problem:  # CI (TTG_REQUIRE_POSTGRES) has the server binaries: there a missing one fails the run
            (pytest.fail if os.environ.get("TTG_REQUIRE_POSTGRES") else pytest.skip)(problem)
    replicas = 2 if backend == "postgresql" else 1
    profile = Profile(name="short", runs=SHORT_RUNS, notices=SHORT_NOTICES, backend=backend, replicas=replicas)  # type: ignore[arg-type]
    seed = seeded_rng().getrandbits(63)
    results = run_session(seed, profile, tmp_path)
    document = report.summary(seed, profile, results)
    print(report.table(document))
    assert document["clean"], "\n".join(report.violations(document)[:40])

    totals = document["totals"]
    assert totals["accepted"] == totals["packs"] == SHORT_RUNS * SHORT_NOTICES
    assert totals["deliveries"] >= totals["packs"] * 3  # every place's packs go to three agencies at least
    assert totals["sent_twice"] == totals["order_violations"] == totals["answers_applied_twice"] == 0
    assert totals["dead_letters"] == 0
    assert set(totals["kills"]) == set(targets(profile)) and min(totals["kills"].values()) >= 1
    assert totals["broker_restarts"] == 1
    assert totals["database_restarts"] == (1 if backend == "postgresql" else 0)
    assert {run["replicas"] for run in document["runs"]} == {replicas}
    assert all(run["answers"] > 0 for run in document["runs"]), "agencies answered in every run"
