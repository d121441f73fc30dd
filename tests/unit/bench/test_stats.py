"""The benchmark's arithmetic: percentiles, latency summaries, rates and ratios."""

from __future__ import annotations

import pytest

from benchmarks.bench.stats import latency_summary_ms, percentile, rate, ratio


def test_percentile_is_the_nearest_rank_of_the_sorted_values() -> None:
    values = [float(n) for n in range(100, 0, -1)]  # 100 .. 1, unsorted on purpose
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 0.5) == 51.0  # rank round(0.5 * 99) = 50 (0-based) of 1..100
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0


def test_percentile_refuses_no_values_and_shares_outside_0_to_1() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_latency_summary_is_in_milliseconds_with_its_count() -> None:
    summary = latency_summary_ms([0.1, 0.2, 0.3, 0.4, 2.0])
    assert summary == {"p50_ms": 300.0, "p95_ms": 2000.0, "p99_ms": 2000.0, "max_ms": 2000.0, "count": 5}
    assert latency_summary_ms([]) == {"count": 0}


def test_rate_counts_intervals_between_the_first_and_last_time() -> None:
    assert rate([10.0, 10.5, 11.0, 12.0]) == pytest.approx(1.5)  # 3 intervals in 2 s
    assert rate([5.0]) == 0.0
    assert rate([3.0, 3.0]) == 0.0


def test_ratio_is_none_without_both_figures() -> None:
    assert ratio(76.0, 2280.0) == pytest.approx(0.033)
    assert ratio(None, 10.0) is None
    assert ratio(5.0, 0.0) is None
