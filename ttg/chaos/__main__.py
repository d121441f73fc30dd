"""``./run chaos``: kill -9 anywhere, broker and database restarts, replicas; then check that nothing was lost,
nothing applied twice and order held. Prints the seed first; exits 1 on any violation."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
from pathlib import Path

from ttg.chaos import report
from ttg.chaos.plan import Profile
from ttg.chaos.runner import run_session


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./run chaos", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs, each on a fresh system (default 3)")
    parser.add_argument("--notices", type=int, default=200, help="notices per run (default 200)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=None, help="replay a session (default: a new seed)")
    parser.add_argument(
        "--profile",
        choices=("full", "short"),
        default="full",
        help="short: only the faults every profile must have; full: random extra faults",
    )
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=1, help="processes per service (2: PostgreSQL)")
    parser.add_argument("--workdir", type=Path, default=Path("var/chaos"), help="data, logs and summary.json")
    return parser.parse_args(argv)


def profile_of(args: argparse.Namespace) -> Profile:
    return Profile(
        name=args.profile,
        runs=args.runs,
        notices=args.notices,
        backend=args.backend,
        replicas=args.replicas,
    )


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends a session as Ctrl-C does: the run in progress stops its system before the process ends."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**63)
    try:
        profile = profile_of(args)
    except ValueError as error:
        print(f"./run chaos: {error}", file=sys.stderr)
        return 2
    print(f"chaos seed {seed} (replay with --seed {seed}); {profile}", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        results = run_session(seed, profile, args.workdir, echo=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        # each run stops its own system, receiver and PostgreSQL server on the way out (runner.run_once)
        print(f"interrupted; seed {seed}; nothing judged", file=sys.stderr)
        return 130
    document = report.summary(seed, profile, results)
    report.write(document, args.workdir / "summary.json")
    print(report.table(document))
    for line in report.violations(document):
        print(line)
    print(f"{'clean' if document['clean'] else 'VIOLATIONS'}; seed {seed}; summary in {args.workdir / 'summary.json'}")
    return 0 if document["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
