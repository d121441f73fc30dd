"""The seed files on a real (SQLite file) handover database: they seed an empty directory only, announce every
agency with only secret references, and give agencies stored before endpoints moved here their endpoint once."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from services.common.clock import FrozenClock
from services.common.db import Database
from services.common.migrations import upgrade
from services.common.outbox import OutboxMessage
from services.common.topics import DIRECTORY_EVENTS
from services.handover.adapters.directory_files import read_directory_files, without_literals
from services.handover.adapters.tables import DirectoryAgency
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.usecases.directory_admin import DirectoryEntry, SeedFiles, seed_directory
from services.handover.usecases.queries import directory_entries
from services.handover.wiring import MIGRATIONS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DirectoryContext:
    database: Database
    clock: FrozenClock
    source: str
    secret_store: Path

    def uow(self) -> HandoverSqlUnitOfWork:
        return HandoverSqlUnitOfWork(self.database, self.clock)


async def seed_from_files(*, ctx: DirectoryContext, path: Path) -> int:
    return await seed_directory(
        new_uow=ctx.uow,
        seed=SeedFiles(
            read=partial(read_directory_files, path), keep_secrets=partial(without_literals, store=ctx.secret_store)
        ),
        source=ctx.source,
        now=ctx.clock.now(),
    )


async def all_agencies(*, ctx: DirectoryContext) -> list[DirectoryEntry]:
    return await directory_entries(uow=ctx.uow())


@pytest.fixture
async def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DirectoryContext]:
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_HTTP", "true")
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    upgrade(url, MIGRATIONS)
    database = Database(url)
    yield DirectoryContext(
        database=database, clock=FrozenClock(NOW), source="urn:test", secret_store=tmp_path / "secrets"
    )
    await database.dispose()


def seed_file(path: Path, codes: list[str]) -> tuple[Path, dict[str, str]]:
    secrets = {code: "whsec_" + base64.b64encode(os.urandom(24)).decode() for code in codes}
    agencies = [
        {
            "code": code,
            "kind": "gp_practice",
            "name": code,
            "webhook": {"url": f"http://127.0.0.1:9/{code}", "secret_ref": f"literal:{secrets[code]}"},
        }
        for code in codes
    ]
    path.write_text(yaml.safe_dump({"agencies": agencies}))
    return path, secrets


async def announced(ctx: DirectoryContext) -> list[dict[str, Any]]:
    async with ctx.database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.topic == DIRECTORY_EVENTS))).all()
    return [json.loads(row.payload) for row in rows]


@pytest.mark.hazard("H49")
async def test_the_files_seed_an_empty_directory_only(ctx: DirectoryContext, tmp_path: Path) -> None:
    first, secrets = seed_file(tmp_path / "first.yaml", ["A99001", "A99002"])
    assert await seed_from_files(ctx=ctx, path=first) == 2
    later, _ = seed_file(tmp_path / "later.yaml", ["A99001", "A99009"])
    assert await seed_from_files(ctx=ctx, path=later) == 0, "a directory that holds anything is left alone"
    assert [entry.agency.code for entry in await all_agencies(ctx=ctx)] == ["A99001", "A99002"]

    events = await announced(ctx)
    assert [(event["subject"], event["data"]["revision"]) for event in events] == [("A99001", 1), ("A99002", 1)]
    for event in events:
        ref = event["data"]["webhook"]["secret_ref"]
        assert ref.startswith("file:") and Path(ref.removeprefix("file:")).read_text() == secrets[event["subject"]]
        assert secrets[event["subject"]] not in json.dumps(event)


@pytest.mark.hazard("H49")
async def test_an_agency_stored_before_endpoints_moved_here_takes_its_endpoint_from_the_files_once(
    ctx: DirectoryContext, tmp_path: Path
) -> None:
    async with ctx.database.transaction() as session:  # as the previous version stored it: no endpoint, revision 0
        record = {"code": "A99001", "kind": "gp_practice", "name": "A99001"}
        session.add(
            DirectoryAgency(code="A99001", kind="gp_practice", record=json.dumps(record), source="file", updated_at=NOW)
        )
    files, _ = seed_file(tmp_path / "directory.yaml", ["A99001", "A99002"])
    assert await seed_from_files(ctx=ctx, path=files) == 1
    assert await seed_from_files(ctx=ctx, path=files) == 0, "once"
    [entry] = await all_agencies(ctx=ctx)
    assert entry.revision == 1 and entry.agency.webhook is not None
    assert entry.agency.webhook.secret_ref.startswith("file:")
    assert [event["subject"] for event in await announced(ctx)] == ["A99001"]
