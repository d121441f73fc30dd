"""The two sizes of a benchmark run. ``full`` is what issue 13 asks for; ``quick`` exercises every phase in well
under a minute of load, so that CI proves the benchmark still runs (it judges no timing)."""

from __future__ import annotations

from dataclasses import dataclass

PHASES = ("P1", "P2", "P3", "P4", "P5", "P6")


@dataclass(frozen=True)
class Profile:
    name: str
    steady_rate: float  # P1: notices per second
    steady_seconds: float  # P1
    burst: int  # P2 (and P6, measured during it): notices sent at once
    intake_seconds: float  # P3 and its limit: how long wrk loads each
    intake_connections: int  # P3
    backlog: int  # P4: notices held behind paused endpoints, then released
    raw_seconds: float  # P4's limit: how long the raw aiohttp loop runs
    faults_rate: float  # P5: notices per second, clean run then run with faults
    faults_seconds: float  # P5: each of its two runs


PROFILES = {
    "full": Profile(
        name="full",
        steady_rate=50.0,
        steady_seconds=60.0,
        burst=10_000,
        intake_seconds=20.0,
        intake_connections=50,
        backlog=2_000,
        raw_seconds=10.0,
        faults_rate=20.0,
        faults_seconds=30.0,
    ),
    "quick": Profile(
        name="quick",
        steady_rate=10.0,
        steady_seconds=5.0,
        burst=60,
        intake_seconds=3.0,
        intake_connections=20,
        backlog=30,
        raw_seconds=2.0,
        faults_rate=10.0,
        faults_seconds=4.0,
    ),
}


def select(quick: bool) -> Profile:
    return PROFILES["quick" if quick else "full"]


def parse_only(text: str | None) -> tuple[str, ...]:
    """``--only P1,P3`` as phase names in run order; every phase when not given. P6 is measured during P2, so
    asking for P6 runs P2 too."""
    if not text:
        return PHASES
    asked = {part.strip().upper() for part in text.split(",") if part.strip()}
    unknown = asked - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phase(s): {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}")
    if "P6" in asked:
        asked.add("P2")
    return tuple(phase for phase in PHASES if phase in asked)
