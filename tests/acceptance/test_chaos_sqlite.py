"""Issue 12's short chaos profile on SQLite (one process per service, as SQLite requires): three runs of 100
notices under SIGKILLs of every service and a broker restart hold every invariant (``tests/support/chaos.py``).
``./run chaos`` runs the longer profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.chaos import short_profile_holds

pytestmark = pytest.mark.acceptance


@pytest.mark.hazard("H81")
def test_the_short_chaos_profile_on_sqlite_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    short_profile_holds("sqlite", runs=3, notices=100, tmp_path=tmp_path)
