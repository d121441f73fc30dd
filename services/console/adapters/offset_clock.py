"""The console's clock: real time, or (tests only) real time plus an offset read from a file, so that an
acceptance test can move past the idle timeout without waiting. Refused unless switched on explicitly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.common.clock import Clock, SystemClock
from services.console.settings import ConsoleSettings


class OffsetFileClock:
    def __init__(self, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        try:
            offset = float(self._path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            offset = 0.0
        return datetime.now(UTC) + timedelta(seconds=offset)


def console_clock(settings: ConsoleSettings) -> Clock:
    if settings.test_clock_file is not None and not settings.test_clock:
        raise RuntimeError("TTG_CONSOLE_TEST_CLOCK_FILE is set but TTG_CONSOLE_TEST_CLOCK is not: refusing to start")
    if settings.test_clock:
        if settings.test_clock_file is None:
            raise RuntimeError("TTG_CONSOLE_TEST_CLOCK needs TTG_CONSOLE_TEST_CLOCK_FILE")
        return OffsetFileClock(settings.test_clock_file)
    return SystemClock()
