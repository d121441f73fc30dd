"""results.json carries the names issue 13 gives, null for a phase not run, and the table shows each figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.bench.report import HEADLINE, results, table, write

RUN = {"profile": "quick", "backend": "sqlite", "seed": 13, "cpus": 2}
DETAILS: dict[str, Any] = {
    "P1": {"notices": 50, "rate": 10.0, "p50_ms": 2000.0, "p95_ms": 3000.0, "p99_ms": 3700.0, "count": 50},
    "P2": {
        "notices": 100,
        "webhooks": 300,
        "seconds": 14.5,
        "cpu_ms_per_notice": {"release_events": 9.5, "handover": 21.0, "notifier": 30.2},
    },
    "P3": {"intake_rps": 76.1, "bare_fastapi_rps": 2279.8, "ratio": 0.033},
    "P4": {"webhooks_per_second": 35.1, "raw_aiohttp": {"requests_per_second": 2895.6}, "ratio": 0.012},
    "P5": {"clean": {"p99_ms": 1500.0}, "with_faults": {"p99_ms": 1350.0}, "ratio": 0.9},
}
PEAKS = {"release_events": 115.6, "handover": 113.5, "notifier": 116.8}


def test_results_name_every_headline_figure_and_the_limits() -> None:
    document = results(RUN, DETAILS, PEAKS)
    assert set(HEADLINE) <= set(document)
    assert (document["p1_p99_ms"], document["p2_seconds"], document["p3_ratio"]) == (3700.0, 14.5, 0.033)
    assert (document["p4_ratio"], document["p5_ratio"], document["p6_rss_mb"]) == (0.012, 0.9, PEAKS)
    assert document["limits"] == {"bare_fastapi_rps": 2279.8, "raw_aiohttp_rps": 2895.6}
    assert document["details"] is DETAILS and document["seed"] == 13


def test_a_phase_not_run_is_null_and_shown_as_not_run() -> None:
    document = results(RUN, {"P1": DETAILS["P1"]}, None)
    assert document["p2_seconds"] is None and document["p3_ratio"] is None and document["p6_rss_mb"] is None
    assert document["limits"] == {"bare_fastapi_rps": None, "raw_aiohttp_rps": None}
    shown = table(document)
    assert "p99 3700 ms" in shown
    assert shown.count("not run") == 5


def test_the_table_has_one_row_per_phase_after_a_heading() -> None:
    lines = table(results(RUN, DETAILS, PEAKS)).splitlines()
    assert lines[0] == "quick profile, sqlite, seed 13, 2 CPUs"
    assert [line.split()[0] for line in lines[1:]] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert "0.033 (76.1/s of 2279.8/s)" in lines[3]
    assert "notifier 116.8 MB" in lines[6]
    assert "CPU per notice: release_events 9.5 ms, handover 21 ms, notifier 30.2 ms" in lines[2]


def test_written_results_read_back_as_json(tmp_path: Path) -> None:
    path = tmp_path / "bench" / "results.json"
    write(results(RUN, DETAILS, PEAKS), path)
    assert json.loads(path.read_text())["p1_p99_ms"] == 3700.0
