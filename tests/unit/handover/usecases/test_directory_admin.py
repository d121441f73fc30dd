"""The directory's admin operations and seeding on the fake unit of work: each change announced and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.envelope import EventType
from services.common.topics import DIRECTORY_EVENTS
from services.handover.domain.directory import AgencyRecord
from services.handover.usecases.directory_admin import (
    NoEndpoint,
    SeedFiles,
    deactivate_agency,
    put_agency,
    rotate_secret,
    seed_directory,
)
from tests.unit.handover.factories import DIRECTORY, agency
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork

WEBHOOK = {"url": "https://gp.example/hooks", "secret_ref": "env:GP_SECRET"}


def announced(uow: FakeHandoverUnitOfWork) -> list[tuple[str, int]]:
    return [
        (event.subject or "", event.data["revision"])
        for topic, event in uow.outbox.events
        if topic == DIRECTORY_EVENTS and event.type == EventType.DIRECTORY_AGENCY_CHANGED
    ]


async def test_put_creates_then_replaces_announcing_each_revision() -> None:
    uow = FakeHandoverUnitOfWork()
    gp = agency("A99009", "gp_practice", ["DH1"], [], webhook=WEBHOOK)

    assert await put_agency(uow=uow, agency=gp, source=SOURCE, now=NOW) == (True, 1)
    assert await put_agency(uow=uow, agency=gp, source=SOURCE, now=NOW) == (False, 2)
    assert announced(uow) == [("A99009", 1), ("A99009", 2)]
    assert [entry.action for entry in uow.audit.entries] == ["directory.agency_put"] * 2


async def test_deactivating_keeps_the_entry_inactive_and_an_unknown_code_is_false() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)

    assert await deactivate_agency(uow=uow, code="A99001", source=SOURCE, now=NOW)
    assert not await deactivate_agency(uow=uow, code="NOPE", source=SOURCE, now=NOW)
    assert "A99001" not in {a.code for a in await uow.directory.active()}
    assert announced(uow) == [("A99001", 2)]


async def test_rotating_keeps_the_current_secret_signing_for_the_overlap() -> None:
    uow = FakeHandoverUnitOfWork([agency("A99009", "gp_practice", ["DH1"], [], webhook=WEBHOOK)])

    rotated = await rotate_secret(
        uow=uow, code="A99009", new_ref="env:NEW", overlap_seconds=3600, source=SOURCE, now=NOW
    )

    assert rotated is not None and rotated.agency.webhook is not None
    assert rotated.agency.webhook.secret_ref == "env:NEW"
    [previous] = rotated.agency.webhook.previous_secrets
    assert previous.secret_ref == "env:GP_SECRET" and previous.until == NOW + timedelta(hours=1)
    with pytest.raises(NoEndpoint):
        await rotate_secret(
            uow=FakeHandoverUnitOfWork(DIRECTORY),
            code="A99001",
            new_ref="env:X",
            overlap_seconds=0,
            source=SOURCE,
            now=NOW,
        )


async def test_the_seed_fills_an_empty_directory_only() -> None:
    uow = FakeHandoverUnitOfWork()
    agencies = [agency("A99001", "gp_practice", ["DH1"], []), agency("A99002", "gp_practice", ["TS1"], [])]

    def keep(record: AgencyRecord) -> AgencyRecord:
        return record

    seed = SeedFiles(read=lambda: agencies, keep_secrets=keep)
    assert await seed_directory(new_uow=lambda: uow, seed=seed, source=SOURCE, now=NOW) == 2
    assert await seed_directory(new_uow=lambda: uow, seed=seed, source=SOURCE, now=NOW) == 0, "only when empty"
    assert announced(uow) == [("A99001", 1), ("A99002", 1)]
