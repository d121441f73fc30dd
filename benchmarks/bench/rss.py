"""P6: the peak resident memory of each service process while a phase runs, sampled in a background thread."""

from __future__ import annotations

import threading

import psutil


class PeakRss:
    """Samples each process's RSS every ``interval`` seconds from ``start()`` to ``stop()``; ``peaks_mb()``."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peaks = dict.fromkeys(pids, 0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(10)
        return self.peaks_mb()

    def peaks_mb(self) -> dict[str, float]:
        return {name: round(peak / 2**20, 1) for name, peak in self.peaks.items()}

    def _sample(self) -> None:
        while True:
            for name, process in self.processes.items():
                try:
                    self.peaks[name] = max(self.peaks[name], process.memory_info().rss)
                except psutil.Error:
                    pass  # a process that ended: its peak so far stands
            if self._stop.wait(self.interval):  # the sampling period, ended early by stop()
                return
