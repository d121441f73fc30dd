"""Issue 12's short chaos profile, as CI runs it: three runs of 150 notices on PostgreSQL through the whole
system with two replicas of every service, under SIGKILLs of every process, a broker restart and a crash of the
database server; nothing lost, nothing applied twice, order held, audit chains intact, no dead letters, no
personal data in the logs, and the planned faults really happened (``tests/support/chaos.py``).

The runs use a throwaway PostgreSQL server of their own (``ttg/chaos/postgres_cluster.py``): the shared one is
never restarted. On SQLite, ``./run chaos`` runs the profiles (one process per service, as SQLite requires);
in CI, ``test_faults.py`` restarts the broker and kills the relays there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.chaos import short_profile_holds

pytestmark = pytest.mark.acceptance


@pytest.mark.hazard("H81", "H83")
def test_the_short_chaos_profile_on_postgresql_with_two_replicas_loses_nothing_and_applies_nothing_twice(
    tmp_path: Path,
) -> None:
    short_profile_holds("postgresql", runs=3, notices=150, tmp_path=tmp_path)
