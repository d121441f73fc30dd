"""The chaos fault plan: the same seed gives the same faults; every process is killed, the broker and (on
PostgreSQL) the database restarted at least once in every profile; faults fall while the load runs."""

from __future__ import annotations

import pytest

from tests.support.seeding import seeded_rng
from ttg.chaos.plan import Profile, RunPlan, build_plans, describe, steps, targets


def kinds(plans: list[RunPlan], kind: str) -> int:
    return sum(1 for plan in plans for fault in plan.faults if fault.kind == kind)


@pytest.mark.parametrize("name", ["short", "full"])
@pytest.mark.parametrize(("backend", "replicas"), [("sqlite", 1), ("postgresql", 1), ("postgresql", 2)])
def test_every_profile_kills_every_process_and_restarts_the_broker_and_database(
    name: str, backend: str, replicas: int
) -> None:
    seed = seeded_rng().getrandbits(63)
    profile = Profile(name=name, runs=3, notices=200, backend=backend, replicas=replicas)  # type: ignore[arg-type]
    plans = build_plans(seed, profile)
    killed = {fault.target for plan in plans for fault in plan.faults if fault.kind == "kill"}
    assert killed == set(targets(profile))
    assert len(killed) == 3 * replicas
    assert kinds(plans, "broker") >= 1
    assert (kinds(plans, "postgres") >= 1) == (backend == "postgresql")
    if name == "short":  # only what every profile must have: one of each
        assert kinds(plans, "broker") == 1 and kinds(plans, "kill") == 3 * replicas


def test_the_same_seed_replays_the_same_plan_and_another_differs() -> None:
    seed = seeded_rng().getrandbits(63)
    profile = Profile(runs=4, notices=500, backend="postgresql")
    assert build_plans(seed, profile) == build_plans(seed, profile)
    assert build_plans(seed, profile) != build_plans(seed + 1, profile)
    assert len({plan.seed for plan in build_plans(seed, profile)}) == 4


def test_faults_fall_while_the_load_runs_in_order_of_progress() -> None:
    seed = seeded_rng().getrandbits(63)
    profile = Profile(runs=5, notices=100)
    total = steps(100)
    for plan in build_plans(seed, profile):
        moments = [fault.at_step for fault in plan.faults]
        assert moments == sorted(moments)
        assert all(total // 10 <= m <= total * 9 // 10 for m in moments)
        assert all(0.2 <= f.down_seconds <= 2.0 for f in plan.faults if f.kind == "kill")
        assert describe(plan).startswith(f"run {plan.index + 1} seed {plan.seed}: @")


def test_one_run_still_gets_every_fault() -> None:
    plans = build_plans(seeded_rng().getrandbits(63), Profile(name="short", runs=1, notices=50, backend="postgresql"))
    assert {f.kind for f in plans[0].faults} == {"kill", "broker", "postgres"}
    assert plans[0].kills() == {"release_events": 1, "handover": 1, "notifier": 1}


def test_two_replicas_are_refused_on_sqlite_and_odd_profiles_refused() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        Profile(backend="sqlite", replicas=2)
    with pytest.raises(ValueError):
        Profile(runs=0)
    with pytest.raises(ValueError):
        Profile(replicas=3, backend="postgresql")
