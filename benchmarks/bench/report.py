"""The run's results: ``results.json`` under the names issue 13 gives (``p1_p99_ms``, ``p2_seconds``, ``p3_ratio``,
``p4_ratio``, ``p5_ratio``, ``p6_rss_mb``, ``limits``; null for a phase not run) with every phase's ``details``,
and the one table printed at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADLINE = ("p1_p50_ms", "p1_p95_ms", "p1_p99_ms", "p2_seconds", "p3_ratio", "p4_ratio", "p5_ratio", "p6_rss_mb")


def results(run: dict[str, Any], details: dict[str, Any], peaks: dict[str, float] | None) -> dict[str, Any]:
    """The document written to results.json, from the run's facts and each phase's details."""
    p1, p2, p3, p4, p5 = (details.get(name) or {} for name in ("P1", "P2", "P3", "P4", "P5"))
    return {
        **run,
        "p1_p50_ms": p1.get("p50_ms"),
        "p1_p95_ms": p1.get("p95_ms"),
        "p1_p99_ms": p1.get("p99_ms"),
        "p2_seconds": p2.get("seconds"),
        "p3_ratio": p3.get("ratio"),
        "p4_ratio": p4.get("ratio"),
        "p5_ratio": p5.get("ratio"),
        "p6_rss_mb": peaks,
        "limits": {
            "bare_fastapi_rps": p3.get("bare_fastapi_rps"),
            "raw_aiohttp_rps": (p4.get("raw_aiohttp") or {}).get("requests_per_second"),
        },
        "details": details,
    }


def _shown(value: Any, unit: str = "") -> str:
    if value is None:
        return "not run"
    if isinstance(value, dict):
        return ", ".join(f"{name} {amount:g}{unit}" for name, amount in value.items())
    return f"{value:g}{unit}"


def table(document: dict[str, Any]) -> str:
    """One row per figure: what it is, the measured value, and what it was measured against."""
    d = document["details"]
    p1, p2, p3, p4, p5 = (d.get(name) or {} for name in ("P1", "P2", "P3", "P4", "P5"))
    rows = [
        ("P1 accept -> every agency notified", _p1(document, p1)),
        ("P2 burst fully delivered", _p2(document, p2)),
        ("P3 intake / bare FastAPI", _ratio(document["p3_ratio"], p3.get("intake_rps"), p3.get("bare_fastapi_rps"))),
        (
            "P4 notifier / raw aiohttp",
            _ratio(
                document["p4_ratio"],
                p4.get("webhooks_per_second"),
                (p4.get("raw_aiohttp") or {}).get("requests_per_second"),
            ),
        ),
        ("P5 healthy p99 with faults / clean", _p5(document, p5)),
        ("P6 peak RSS during P2", _shown(document["p6_rss_mb"], " MB")),
    ]
    width = max(len(name) for name, _ in rows)
    head = f"{document['profile']} profile, {document['backend']}, seed {document['seed']}, {document['cpus']} CPUs"
    return "\n".join([head, *(f"{name:<{width}}  {value}" for name, value in rows)])


def _p1(document: dict[str, Any], p1: dict[str, Any]) -> str:
    if not p1:
        return "not run"
    return (
        f"p50 {_shown(document['p1_p50_ms'])} ms, p95 {_shown(document['p1_p95_ms'])} ms, "
        f"p99 {_shown(document['p1_p99_ms'])} ms ({p1['notices']} notices at {p1['rate']:g}/s)"
    )


def _p2(document: dict[str, Any], p2: dict[str, Any]) -> str:
    if not p2:
        return "not run"
    shown = f"{_shown(document['p2_seconds'])} s ({p2['notices']} notices, {p2['webhooks']} webhooks)"
    if p2.get("cpu_ms_per_notice"):
        shown += f"; CPU per notice: {_shown(p2['cpu_ms_per_notice'], ' ms')}"
    return shown


def _ratio(value: float | None, measured: float | None, limit: float | None) -> str:
    if value is None:
        return "not run"
    return f"{value:g} ({measured:g}/s of {limit:g}/s)"


def _p5(document: dict[str, Any], p5: dict[str, Any]) -> str:
    if not p5:
        return "not run"
    clean, faulty = p5["clean"].get("p99_ms"), p5["with_faults"].get("p99_ms")
    return f"{_shown(document['p5_ratio'])} (p99 {faulty:g} ms with faults, {clean:g} ms clean)"


def write(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
