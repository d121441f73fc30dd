"""P2's CPU per notice: readings of real processes, and the arithmetic between two readings."""

from __future__ import annotations

import os
import subprocess
import sys

from benchmarks.bench.cpu import cpu_seconds, per_notice_ms


def test_a_running_process_has_cpu_seconds_and_an_ended_one_counts_zero() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    sum(range(2_000_000))  # some CPU of our own to read
    seconds = cpu_seconds({"self": os.getpid(), "ended": ended.pid})
    assert seconds["self"] > 0 and seconds["ended"] == 0.0


def test_per_notice_is_the_difference_in_milliseconds_over_the_notices() -> None:
    assert per_notice_ms({"handover": 10.0, "notifier": 2.0}, {"handover": 12.5, "notifier": 2.0}, 100) == {
        "handover": 25.0,
        "notifier": 0.0,
    }
