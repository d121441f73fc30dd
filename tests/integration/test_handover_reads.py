"""Handover's repository reads that a new notice makes, on SQLite and PostgreSQL: the notice's handover and the
person's open ones in one statement, and the recipients' directory records taken from the unit of work's reading
of the active directory unless something in it changed since (then from the table, inactive agencies included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.clock import FrozenClock
from services.common.db import Database
from services.handover.adapters.tables import DirectoryAgency, Handover
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.domain.case import HandoverState
from services.handover.domain.directory import AgencyRecord
from tests.unit.handover.factories import DIRECTORY

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)


@pytest.fixture
def database(handover_database: Database) -> Database:
    return handover_database


def unit_of_work(database: Database) -> HandoverSqlUnitOfWork:
    return HandoverSqlUnitOfWork(database, FrozenClock(NOW))


def row_of(agency: AgencyRecord, *, active: bool = True) -> DirectoryAgency:
    return DirectoryAgency(
        code=agency.code,
        kind=agency.kind.value,
        record=agency.model_dump_json(),
        source="file",
        active=active,
        updated_at=NOW,
        revision=1,
    )


def handover(handover_id: str, notice_id: str, prison_number: str, state: HandoverState) -> Handover:
    return Handover(
        id=handover_id,
        notice_id=notice_id,
        prison_number=prison_number,
        establishment_code="DMI",
        release_date=NOW.date(),
        current_version=1,
        state=state.value,
        notice="{}",
        created_at=NOW,
        updated_at=NOW,
    )


async def test_a_notice_finds_its_own_handover_and_only_the_persons_open_ones(database: Database) -> None:
    async with unit_of_work(database) as uow:
        await uow.handovers.add(handover("h-open", "n-1", "A1234BC", HandoverState.OPEN))
        await uow.handovers.add(handover("h-withdrawn", "n-2", "A1234BC", HandoverState.WITHDRAWN))
        await uow.handovers.add(handover("h-other", "n-3", "Z9999ZZ", HandoverState.OPEN))
    async with unit_of_work(database) as uow:
        opened, open_cases = await uow.handovers.of_notice_and_open_of_person("n-new", "A1234BC")
        assert opened is None and [h.id for h in open_cases] == ["h-open"]
        opened, open_cases = await uow.handovers.of_notice_and_open_of_person("n-3", "A1234BC")
        assert opened is not None and opened.id == "h-other" and [h.id for h in open_cases] == ["h-open"]
        opened, open_cases = await uow.handovers.of_notice_and_open_of_person("n-2", "A1234BC")
        assert opened is not None and opened.id == "h-withdrawn" and [h.id for h in open_cases] == ["h-open"]


async def test_directory_records_follow_a_change_made_in_the_same_unit_of_work(database: Database) -> None:
    gp, team, *_ = DIRECTORY
    async with unit_of_work(database) as uow:
        await uow.directory.save(row_of(gp))
        await uow.directory.save(row_of(team, active=False))
    async with unit_of_work(database) as uow:
        assert [a.code for a in await uow.directory.active()] == [gp.code]
        assert [a.name for a in await uow.directory.records({gp.code})] == [gp.name]
        # Not in the active directory: read from the table, inactive as it is.
        assert [a.code for a in await uow.directory.records({team.code})] == [team.code]
        row = await uow.directory.get(gp.code)
        assert row is not None
        row.record = gp.model_copy(update={"name": "Renamed Surgery"}).model_dump_json()
        await uow.directory.save(row)
        assert [a.name for a in await uow.directory.records({gp.code})] == ["Renamed Surgery"]
        assert [a.name for a in await uow.directory.active()] == ["Renamed Surgery"]
