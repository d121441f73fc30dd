"""The test clock is refused unless switched on explicitly, and moves with its file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.clock import SystemClock
from services.notifier.adapters.offset_clock import OffsetFileClock, notifier_clock, write_offset
from services.notifier.settings import NotifierSettings


def test_the_system_clock_by_default() -> None:
    assert isinstance(notifier_clock(NotifierSettings()), SystemClock)


def test_a_clock_file_without_the_switch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="refusing"):
        notifier_clock(NotifierSettings(test_clock_file=tmp_path / "offset"))
    with pytest.raises(RuntimeError):
        notifier_clock(NotifierSettings(test_clock=True))


def test_the_test_clock_moves_with_its_file_and_never_backwards(tmp_path: Path) -> None:
    path = tmp_path / "offset"
    clock = notifier_clock(NotifierSettings(test_clock=True, test_clock_file=path))
    assert isinstance(clock, OffsetFileClock)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5, "a missing file means no offset"
    write_offset(path, 3 * 3600)
    assert 3 * 3600 - 5 < (clock.now() - datetime.now(UTC)).total_seconds() < 3 * 3600 + 5
    write_offset(path, 60)
    assert (clock.now() - datetime.now(UTC)).total_seconds() > 3 * 3600 - 5
