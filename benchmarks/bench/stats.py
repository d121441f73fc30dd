"""Percentiles and rates over measured samples: pure functions, so the unit tests pin them down."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0..1) of ``values``; raises on no values, which have none."""
    if not values:
        raise ValueError("no values")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share} is not between 0 and 1")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def latency_summary_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50, p95, p99 and max in milliseconds, and how many samples they come from."""
    if not seconds:
        return {"count": 0}
    summary: dict[str, float | int] = {
        f"p{round(share * 100)}_ms": round(percentile(seconds, share) * 1000, 1) for share in (0.5, 0.95, 0.99)
    }
    summary["max_ms"] = round(max(seconds) * 1000, 1)
    summary["count"] = len(seconds)
    return summary


def rate(times: Sequence[float]) -> float:
    """Events per second over the span of their times (first to last); 0 when fewer than two."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else 0.0


def ratio(measured: float | None, limit: float | None) -> float | None:
    """``measured / limit``, or None when either is missing or the limit is zero."""
    if measured is None or not limit:
        return None
    return round(measured / limit, 3)
