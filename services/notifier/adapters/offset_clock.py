"""The notifier's clock, and the test clock that lets acceptance tests move time forward.

The schedule (5 s, 5 min, ... 24 h), pauses and escalation deadlines are all read from the database against
``clock.now()``, so a test that moves the clock forward by hours sees the next attempt happen at once.

Why a file and not an admin endpoint: the offset must survive the notifier being killed and restarted in the
middle of a schedule (a test does exactly that), and a file adds no HTTP surface that could be left enabled in
production. The test clock is refused unless ``TTG_NOTIFIER_TEST_CLOCK=1`` is set explicitly *and* a file is
named with ``TTG_NOTIFIER_TEST_CLOCK_FILE``; a file without the switch stops the service at start, loudly.
The file holds one number, the seconds to add to the real time; a missing or empty file means 0. Time never
goes backwards: a smaller offset than one already seen is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from services.common.clock import Clock, SystemClock
from services.notifier.settings import NotifierSettings

log = structlog.get_logger(__name__)


class OffsetFileClock:
    """Real time plus an offset read from a file (re-read when the file changes)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._offset = 0.0

    def _read_offset(self) -> float:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return self._offset
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                text = self._path.read_text().strip()
                self._offset = max(self._offset, float(text or 0))
            except ValueError:
                log.warning("test_clock.unreadable_offset")
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._read_offset())


def notifier_clock(settings: NotifierSettings) -> Clock:
    if settings.test_clock_file is not None and not settings.test_clock:
        raise RuntimeError("TTG_NOTIFIER_TEST_CLOCK_FILE is set but TTG_NOTIFIER_TEST_CLOCK is not: refusing to start")
    if settings.test_clock:
        if settings.test_clock_file is None:
            raise RuntimeError("TTG_NOTIFIER_TEST_CLOCK needs TTG_NOTIFIER_TEST_CLOCK_FILE")
        log.warning("test_clock.enabled", file=str(settings.test_clock_file))
        return OffsetFileClock(settings.test_clock_file)
    return SystemClock()


def write_offset(path: Path, seconds: float) -> None:
    """Set the test clock's offset (used by tests): written atomically so a reader never sees half a number."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(f"{seconds}\n")
    temporary.replace(path)
