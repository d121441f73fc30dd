"""The chaos session's summary: a table for people, ``summary.json`` for machines, and the violations by
invariant with pseudonymous ids only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ttg.chaos.plan import Profile
from ttg.chaos.runner import RunResult

COLUMNS = (
    ("accepted", "accepted"),
    ("packs", "packs"),
    ("deliveries", "deliveries"),
    ("custody_events", "custody events"),
    ("answers", "answers"),
    ("repeats_same_id", "same-id repeats"),
    ("sent_twice", "sent twice"),
    ("order_violations", "order violations"),
    ("answers_applied_twice", "answers twice"),
    ("dead_letters", "dead letters"),
)


def summary(seed: int, profile: Profile, results: list[RunResult]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = [
        {
            "run": r.index + 1,
            "seed": r.seed,
            "clean": r.clean,
            **{key: r.verdict.counts.get(key, 0) for key, _ in COLUMNS},
            "kills": r.kills,
            "broker_restarts": r.broker_restarts,
            "database_restarts": r.database_restarts,
            "replicas": r.replicas,
            "seconds": r.seconds,
            "violations": [{"invariant": i, "id": what} for i, what in r.verdict.violations[:200]],
            "violation_count": len(r.verdict.violations),
        }
        for r in results
    ]
    kills: dict[str, int] = {}
    for r in results:
        for name, n in r.kills.items():
            kills[name] = kills.get(name, 0) + n
    totals = {key: sum(run[key] for run in runs) for key, _ in COLUMNS}
    return {
        "seed": seed,
        "profile": {
            "name": profile.name,
            "runs": profile.runs,
            "notices": profile.notices,
            "backend": profile.backend,
            "replicas": profile.replicas,
        },
        "clean": all(r.clean for r in results),
        "runs": runs,
        "totals": {
            **totals,
            "kills": kills,
            "broker_restarts": sum(r.broker_restarts for r in results),
            "database_restarts": sum(r.database_restarts for r in results),
            "seconds": round(sum(r.seconds for r in results), 1),
            "violations": sum(run["violation_count"] for run in runs),
        },
    }


def table(document: dict[str, Any]) -> str:
    """The summary as a plain-text table: one row per run and a total row."""
    head = ["run", *[title for _, title in COLUMNS], "kills", "broker", "db", "seconds", "result"]
    rows = [
        [
            str(run["run"]),
            *[str(run[key]) for key, _ in COLUMNS],
            _kills(run["kills"]),
            str(run["broker_restarts"]),
            str(run["database_restarts"]),
            str(run["seconds"]),
            "ok" if run["clean"] else f"{run['violation_count']} violations",
        ]
        for run in document["runs"]
    ]
    t = document["totals"]
    rows.append(
        [
            "all",
            *[str(t[key]) for key, _ in COLUMNS],
            _kills(t["kills"]),
            str(t["broker_restarts"]),
            str(t["database_restarts"]),
            str(t["seconds"]),
            "ok" if document["clean"] else f"{t['violations']} violations",
        ]
    )
    widths = [max(len(row[n]) for row in [head, *rows]) for n in range(len(head))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in [head, *rows])


def _kills(kills: dict[str, int]) -> str:
    return ",".join(f"{name}={n}" for name, n in sorted(kills.items())) or "-"


def violations(document: dict[str, Any]) -> list[str]:
    """Each violation as a line: run, invariant, pseudonymous id."""
    return [f"run {run['run']}: {v['invariant']}: {v['id']}" for run in document["runs"] for v in run["violations"]]


def write(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
