"""``./run bench``: start the system, measure its limits and the system phase by phase, print one table, write
``results.json`` and ``latency.png``. Exits 1 only when a phase cannot complete, never on a timing."""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench import phases, plot, report
from benchmarks.bench.arrivals import Arrivals, PhaseIncomplete
from benchmarks.bench.load import Notices
from benchmarks.bench.profiles import parse_only, select
from benchmarks.bench.system import start

# P3 stops handover and the notifier, so it runs last; P6 is measured during P2.
RUN_ORDER = ("P1", "P2", "P4", "P5", "P3")


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./run bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the small profile CI runs (under a minute of load)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=None, help="the synthetic people's seed (default: a new one)")
    parser.add_argument("--only", default=None, help="phases to run, e.g. P1,P3 (default: all; P6 runs P2)")
    parser.add_argument("--workdir", type=Path, default=Path("var/bench"), help="results.json, latency.png, logs")
    parser.add_argument("--burst", type=int, default=None, help="P2's notices, instead of the profile's")
    args = parser.parse_args(argv)
    try:
        args.phases = parse_only(args.only)
    except ValueError as error:
        parser.error(str(error))
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, seed: int) -> tuple[dict[str, Any], int]:
    """Every asked phase on a fresh system; the results document and the exit status."""
    profile = select(args.quick)
    if args.burst is not None:
        profile = dataclasses.replace(profile, burst=args.burst)
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    facts: dict[str, Any] = {
        "profile": profile.name,
        "backend": args.backend,
        "seed": seed,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(n, 2) for n in os.getloadavg()],
    }
    details: dict[str, Any] = {}
    peaks: dict[str, float] | None = None
    status = 0
    system = start(workdir, args.backend, seed)
    details["startup_seconds"] = round(time.monotonic() - began, 1)
    ctx = phases.Context(system, Arrivals(system.receiver.url), Notices(random.Random(seed)), profile, workdir)
    try:
        details["warm_up_seconds"] = phases.warm_up(ctx)
        for phase in (p for p in RUN_ORDER if p in args.phases):
            print(f"{phase} ...", flush=True)
            phase_began = time.monotonic()
            if phase == "P1":
                details["P1"] = phases.p1_steady(ctx)
            elif phase == "P2":
                details["P2"], peaks = phases.p2_burst(ctx)
            elif phase == "P4":
                details["P4"] = phases.p4_backlog(ctx)
            elif phase == "P5":
                details["P5"] = phases.p5_faults(ctx)
            else:
                details["P3"] = phases.p3_intake(ctx)
            details.setdefault("phase_seconds", {})[phase] = round(time.monotonic() - phase_began, 1)
    except PhaseIncomplete as incomplete:
        print(f"./run bench: a phase could not complete: {incomplete}", file=sys.stderr)
        details["incomplete"] = str(incomplete)
        status = 1
    finally:
        system.stop()
    facts["run_seconds"] = round(time.monotonic() - began, 1)
    document = report.results(facts, details, peaks)
    title = f"{profile.name} profile, {args.backend}, seed {seed}"
    picture = plot.latency_plot(ctx.series, workdir / "latency.png", title)
    document["plot"] = str(picture) if picture else None
    return document, status


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    if "P3" in args.phases and shutil.which("wrk") is None:
        print("./run bench: P3 needs wrk (apt-get install wrk), or leave it out with --only", file=sys.stderr)
        return 2  # said before the system starts, not after the other phases have run
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    print(f"bench seed {seed} (replay with --seed {seed}); phases {','.join(args.phases)}", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        document, status = run(args, seed)
    except KeyboardInterrupt:
        print(f"interrupted; seed {seed}; nothing written", file=sys.stderr)
        return 130
    report.write(document, args.workdir / "results.json")
    print(report.table(document))
    print(f"results in {args.workdir / 'results.json'}; plot {document['plot']}; {document['run_seconds']} s in all")
    return status


if __name__ == "__main__":
    sys.exit(main())
