"""Readiness: can this process do its work now? Separate from liveness (``/healthz``, the process answers).

A load balancer stops sending requests to a replica that is not ready, and an orchestrator does not restart
it for that (it is alive; its database or broker is away). The checks are the two parts every service needs:
its own database and the Kafka broker.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.common.broker_probe import BrokerProbe
from services.common.db import Database, is_sqlite


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def check_database(database: Database, database_url: str, timeout: float) -> Check:
    """A query against the service's own schema. For SQLite also the file at its path: pooled connections keep
    a moved or deleted file open, so they would go on answering while every new connection finds no database."""
    if is_sqlite(database_url):
        path = make_url(database_url).database
        if path and path != ":memory:" and not os.path.isfile(path):
            return Check("database", False, "the SQLite database file is missing")
    try:
        async with database.session() as session:
            async with asyncio.timeout(timeout):
                await session.execute(text("SELECT count(*) FROM alembic_version"))
    except Exception as error:  # noqa: BLE001 - any failure means not ready; the type says which
        return Check("database", False, f"the database did not answer ({type(error).__name__})")
    return Check("database", True, "ok")


async def check_broker(probe: BrokerProbe, timeout: float) -> Check:
    try:
        async with asyncio.timeout(timeout):
            await probe.cluster_id()
    except Exception as error:  # noqa: BLE001 - as above
        return Check("broker", False, f"the Kafka broker did not answer ({type(error).__name__})")
    return Check("broker", True, "ok")


async def readiness(database: Database, database_url: str, probe: BrokerProbe, timeout: float) -> list[Check]:
    return list(await asyncio.gather(check_database(database, database_url, timeout), check_broker(probe, timeout)))
