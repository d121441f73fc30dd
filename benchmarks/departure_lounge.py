"""Benchmark: the departure lounge (``GET /v1/establishments/{code}/releases``) on a busy day.

Opens ``--releases`` handovers for one establishment and one release day straight through handover's own use
case (no broker), then reads the lounge in-process over ASGI as prison healthcare would: first page and, with
``--all-pages``, every page. Prints time and bytes. SQLite file in a temporary folder, synthetic people only.

    .venv/bin/python -m benchmarks.departure_lounge --releases 1700
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from contracts.envelope import EventType, new_event
from contracts.release_notice import RELEASE_NOTICE_SUBMITTED_SCHEMA, ReleaseNoticeSubmittedV1, ReleaseNoticeV1
from services.common import credentials
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.migrations import upgrade
from services.common.problems import install_problem_handlers
from services.common.roles import Role
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.entrypoints.api.release_routes import router
from services.handover.settings import HandoverSettings
from services.handover.usecases.open_handover import open_handover
from services.handover.wiring import MIGRATIONS, seed_directory_once
from ttg.synthetic import release_notice


async def fill(settings: HandoverSettings, database: Database, releases: int) -> str:
    clock = SystemClock()
    await seed_directory_once(database, clock, settings)
    rng = random.Random(7)
    day = ""
    for _ in range(releases):
        body = release_notice(rng, place="durham", establishment="DMI")
        notice = ReleaseNoticeV1.model_validate(body)
        day = notice.release.date.isoformat()
        data = ReleaseNoticeSubmittedV1(
            notice_id=str(rng.getrandbits(64)), received_at=datetime.now(UTC), notice=notice
        )
        event = new_event(
            type=EventType.RELEASE_NOTICE_SUBMITTED,
            source="bench",
            subject=notice.prison_number,
            dataschema=RELEASE_NOTICE_SUBMITTED_SCHEMA,
            data=data,
            correlation_id=None,
        )
        uow = HandoverSqlUnitOfWork(database, clock)
        await open_handover(uow=uow, event=event, source="bench", now=clock.now(), registration_days=5)
    return day


async def main(releases: int, all_pages: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="lounge-"))
    store = folder / "credentials.json"
    key = credentials.create(
        store, client_id="dmi", organisation="DMI", role=Role.PRISON_HEALTHCARE, establishments=["DMI"]
    )
    settings = HandoverSettings(
        database_url=f"sqlite:///{folder}/handover.db",
        credentials_path=store,
        rate_limit_per_second=1000,
        rate_limit_burst=1000,
    )
    upgrade(settings.database_url, MIGRATIONS)
    database = Database(settings.database_url)
    started = time.perf_counter()
    day = await fill(settings, database, releases)
    print(f"opened {releases} handovers in {time.perf_counter() - started:.1f} s")
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.settings, app.state.database, app.state.clock = settings, database, SystemClock()
    window = {"from": day, "to": day}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    ) as client:
        url: str | None = "/v1/establishments/DMI/releases"
        params: dict[str, str] | None = window
        pages = total_bytes = total_items = 0
        started = time.perf_counter()
        while url:
            begun = time.perf_counter()
            answer = await client.get(url, params=params)
            answer.raise_for_status()
            pages += 1
            total_bytes += len(answer.content)
            total_items += len(answer.json())
            if pages == 1:
                print(
                    f"first page: {len(answer.json())} releases, {len(answer.content) / 1e6:.2f} MB, "
                    f"{time.perf_counter() - begun:.2f} s"
                )
            url = answer.links.get("next", {}).get("url") if all_pages else None
            params = None
        if all_pages:
            print(
                f"all pages: {pages} pages, {total_items} releases, {total_bytes / 1e6:.2f} MB, "
                f"{time.perf_counter() - started:.2f} s"
            )
    await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1700)
    parser.add_argument("--all-pages", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.releases, arguments.all_pages))
