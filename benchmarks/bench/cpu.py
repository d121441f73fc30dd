"""Where P2's time goes: each service's CPU seconds (user + system) over the burst, per notice. On a 2-core
machine the sum says whether the chain is CPU-bound (two cores' worth of seconds) or waiting, and which service
to make cheaper first."""

from __future__ import annotations

import psutil


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """Each process's CPU seconds so far (a process that has ended counts 0)."""
    seconds = {}
    for name, pid in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
            seconds[name] = times.user + times.system
        except psutil.Error:
            seconds[name] = 0.0
    return seconds


def per_notice_ms(before: dict[str, float], after: dict[str, float], notices: int) -> dict[str, float]:
    """CPU milliseconds per notice of each service between two readings."""
    return {name: round((after[name] - before[name]) * 1000 / max(notices, 1), 1) for name in before}
