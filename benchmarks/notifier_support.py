"""What the notifier benchmark needs around the dispatcher: a throwaway database, a directory of agencies at the
sink, a backlog of synthetic deliveries, the check of what was recorded, and the raw aiohttp loop it compares
with."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp
import psycopg
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from services.common.audit_verify import verify_connection
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.migrations import upgrade
from services.notifier.adapters.tables import Delivery
from services.notifier.domain.agencies import Agency, Directory
from services.notifier.domain.states import DeliveryStatus
from services.notifier.usecases.new_deliveries import new_delivery
from services.notifier.wiring import MIGRATIONS
from ttg.synthetic import release_notice

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@asynccontextmanager
async def fresh_database(server_url: str | None, workdir: Path) -> AsyncIterator[Database]:
    """A migrated, empty notifier database: a SQLite file under ``workdir``, or a throwaway database on the
    PostgreSQL server of ``server_url`` (dropped afterwards)."""
    if not server_url:
        url = f"sqlite:///{workdir / 'notifier.db'}"
        upgrade(url, MIGRATIONS)
        database = Database(url)
        try:
            yield database
        finally:
            await database.dispose()
            shutil.rmtree(workdir, ignore_errors=True)
        return
    name = f"ttg_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(server_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, MIGRATIONS)
        database = Database(url)
        try:
            yield database
        finally:
            await database.dispose()
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sink_directory(port: int, endpoints: int) -> Directory:
    """``endpoints`` community mental-health teams (a referral kind: each delivery starts a referral watch, as
    in service) whose webhooks all point at the sink."""
    return Directory(
        agencies=[
            Agency.model_validate(
                {
                    "code": f"BENCH{n}",
                    "kind": "community_mental_health_team",
                    "name": f"Bench team {n} (fictitious)",
                    "webhook": {"url": f"http://127.0.0.1:{port}/hook/{n}", "secret_ref": f"literal:{SECRET}"},
                }
            )
            for n in range(endpoints)
        ]
    )


async def seed_backlog(database: Database, directory: Directory, deliveries: int, rng: random.Random) -> None:
    """``deliveries`` pending deliveries, due now: synthetic people, each with one delivery to every agency."""
    now = SystemClock().now() - timedelta(seconds=1)
    codes = [agency.code for agency in directory.agencies]
    rows: list[Delivery] = []
    while len(rows) < deliveries:
        notice = release_notice(rng, place="durham")
        handover_id = str(uuid.UUID(int=rng.getrandbits(128)))
        pack = {"handover_id": handover_id, "version": 1, **{key: notice[key] for key in ("release", "medications")}}
        for code in codes[: deliveries - len(rows)]:
            rows.append(
                new_delivery(
                    agency_code=code,
                    webhook_type="handover.pack.issued",
                    source_event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                    subject=notice["prison_number"],
                    handover_id=handover_id,
                    data={"agency_code": code, "pack": pack},
                    correlation_id=str(uuid.UUID(int=rng.getrandbits(128))),
                    now=now,
                )
            )
    async with database.transaction() as session:
        session.add_all(rows)


async def delivered_count(database: Database) -> tuple[int, str]:
    """How many deliveries are recorded delivered, and what the audit chain's verification says."""
    async with database.session() as session:
        query = select(func.count()).select_from(Delivery).where(col(Delivery.status) == DeliveryStatus.DELIVERED)
        delivered = int((await session.exec(query)).one())
        verdict = await session.run_sync(lambda sync: verify_connection(sync.connection()))
    return delivered, verdict.describe()


async def raw_loop_rate(port: int, requests: int, concurrency: int, *, payload_bytes: int) -> float:
    """Requests per second of a bare aiohttp loop POSTing ``payload_bytes`` to the sink: the limit of the
    machine, the receiver and the client library, without signing or recording."""
    body = b"x" * payload_bytes
    url = f"http://127.0.0.1:{port}/hook/raw"
    left = requests

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.post(url, data=body, headers={"content-type": "application/json"}) as response:
                await response.read()

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return requests / (time.perf_counter() - began)
