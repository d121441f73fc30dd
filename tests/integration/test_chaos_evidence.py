"""A chaos run that found a violation on PostgreSQL keeps what its databases held: the throwaway server is
removed after the run, so its databases are dumped first (``PostgresCluster.dump_databases``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from ttg.chaos.postgres_cluster import PostgresCluster, unavailable


def test_every_database_of_the_throwaway_server_is_dumped_before_it_goes(tmp_path: Path) -> None:
    problem = unavailable()
    if problem:
        (pytest.fail if os.environ.get("TTG_REQUIRE_POSTGRES") else pytest.skip)(problem)
    with PostgresCluster() as cluster:
        admin = cluster.engine(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE ttg_handover_replica_1"))
        admin.dispose()
        handover = cluster.engine("ttg_handover_replica_1")
        with handover.begin() as connection:
            connection.execute(sa.text("CREATE TABLE inbox (event_id text PRIMARY KEY)"))
            connection.execute(sa.text("INSERT INTO inbox VALUES ('evt-never-handled-7')"))
        handover.dispose()

        dumped = cluster.dump_databases(tmp_path / "postgres-dumps")

    assert [path.name for path in dumped] == ["ttg_handover_replica_1.sql"]
    text = dumped[0].read_text()
    assert "CREATE TABLE public.inbox" in text and "evt-never-handled-7" in text
