"""The fault plan of a chaos session, from a seed and a profile: pure, so that a seed replays the same faults.

A fault fires at a moment of progress (after k steps of the load: a notice accepted or an answer given), not
at a wall-clock second: the same seed then hits the same stage of the load whatever the machine's speed.
Across a profile every service is killed at least once (every replica's process when there are two), the
broker is restarted at least once, and on PostgreSQL the database server is restarted at least once; the rest
is drawn from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

SERVICES = ("release_events", "handover", "notifier")
FaultKind = Literal["kill", "broker", "postgres"]
Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class Profile:
    """What a chaos session runs: ``runs`` systems one after another, each with ``notices`` notices."""

    name: Literal["full", "short"] = "full"
    runs: int = 3
    notices: int = 200
    backend: Backend = "sqlite"
    replicas: int = 1

    def __post_init__(self) -> None:
        if self.runs < 1 or self.notices < 10:
            raise ValueError("a chaos session needs at least one run of at least 10 notices")
        if self.replicas not in (1, 2):
            raise ValueError("replicas is 1 or 2")
        if self.replicas > 1 and self.backend != "postgresql":
            raise ValueError("two replicas need PostgreSQL: a SQLite file belongs to one process")


@dataclass(frozen=True, order=True)
class Fault:
    """After ``at_step`` steps of the load: SIGKILL ``target`` and start it again ``down_seconds``
    later (kind kill), or restart the broker (an empty one on the same port) or the PostgreSQL server."""

    at_step: int
    kind: FaultKind
    target: str = ""
    down_seconds: float = 0.0


@dataclass(frozen=True)
class RunPlan:
    index: int
    seed: int  # the run's own seed: its people, its answers, its custody events
    faults: tuple[Fault, ...] = field(default_factory=tuple)

    def kills(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for fault in self.faults:
            if fault.kind == "kill":
                counted[fault.target] = counted.get(fault.target, 0) + 1
        return counted


def process_names(service: str, replicas: int) -> list[str]:
    """The processes of one service: ``handover``, and ``handover-2`` for a second replica."""
    return [service] + [f"{service}-{n}" for n in range(2, replicas + 1)]


def targets(profile: Profile) -> list[str]:
    return [name for service in SERVICES for name in process_names(service, profile.replicas)]


def build_plans(seed: int, profile: Profile) -> list[RunPlan]:
    """One plan per run. Must-have faults (each process killed, one broker restart, one database restart on
    PostgreSQL) are dealt over the runs first; the full profile adds random ones on top."""
    rng = random.Random(seed)
    must: list[tuple[FaultKind, str]] = [("kill", name) for name in targets(profile)]
    must.append(("broker", ""))
    if profile.backend == "postgresql":
        must.append(("postgres", ""))
    rng.shuffle(must)
    dealt: list[list[tuple[FaultKind, str]]] = [[] for _ in range(profile.runs)]
    for n, item in enumerate(must):
        dealt[n % profile.runs].append(item)
    if profile.name == "full":
        for chosen in dealt:
            chosen.extend(("kill", rng.choice(targets(profile))) for _ in range(rng.randint(1, 3)))
            if rng.random() < 0.5:
                chosen.append(("broker", ""))
            if profile.backend == "postgresql" and rng.random() < 0.5:
                chosen.append(("postgres", ""))
    return [
        RunPlan(index=n, seed=rng.getrandbits(63), faults=_placed(rng, chosen, steps(profile.notices)))
        for n, chosen in enumerate(dealt)
    ]


def steps(notices: int) -> int:
    """The steps of a run's load: its notices, then a third as many answers."""
    return notices + answers(notices)


def answers(notices: int) -> int:
    return notices // 3


def _placed(rng: random.Random, chosen: list[tuple[FaultKind, str]], total: int) -> tuple[Fault, ...]:
    """Each fault at a moment between a tenth and nine tenths of the load, so it falls while work is in flight."""
    low, high = max(1, total // 10), max(2, total * 9 // 10)
    return tuple(
        sorted(
            Fault(
                at_step=rng.randint(low, high),
                kind=kind,
                target=target,
                down_seconds=round(rng.uniform(0.2, 2.0), 2) if kind == "kill" else 0.0,
            )
            for kind, target in chosen
        )
    )


def describe(plan: RunPlan) -> str:
    """A line naming the run's faults, for the report."""
    parts = [f"@{f.at_step}:{'kill ' + f.target if f.kind == 'kill' else f.kind + ' restart'}" for f in plan.faults]
    return f"run {plan.index + 1} seed {plan.seed}: " + (", ".join(parts) or "no faults")
