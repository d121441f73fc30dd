"""Handover's repository reads that a new notice makes, on SQLite and PostgreSQL: the notice's handover and the
person's open ones in one statement, the active directory read once per transaction (a consumer's group of
notices shares one) until something in it changes, and the recipients' directory records taken from that reading
unless something in it changed since (then from the table, inactive agencies included);
and a delivery outcome's reads of one agency's referrals of one handover, which on SQLite go through the index of
both columns (without it SQLite read a third of every stored referral per outcome)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from services.common.clock import FrozenClock
from services.common.db import Database
from services.handover.adapters.outcome_tables import ReferralDelivered
from services.handover.adapters.tables import DirectoryAgency, Handover, Referral
from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.domain.case import HandoverState
from services.handover.domain.directory import AgencyRecord
from tests.support.query_plans import sqlite_plans, statements_run
from tests.unit.handover.factories import DIRECTORY, directory_row

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)


@pytest.fixture
def database(handover_database: Database) -> Database:
    return handover_database


def unit_of_work(database: Database) -> HandoverSqlUnitOfWork:
    return HandoverSqlUnitOfWork(database, FrozenClock(NOW))


def row_of(agency: AgencyRecord, *, active: bool = True) -> DirectoryAgency:
    return directory_row(agency, active=active, at=NOW)


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


async def test_a_batchs_units_of_work_read_the_active_directory_once_and_follow_a_change(database: Database) -> None:
    gp, team, *_ = DIRECTORY
    async with unit_of_work(database) as uow:
        await uow.directory.save(row_of(gp))
    async with database.batch():  # as a consumer's group of notices: one transaction, a unit of work each
        with statements_run(database) as ran:
            for _ in range(3):
                async with unit_of_work(database) as uow:
                    assert [a.code for a in await uow.directory.active()] == [gp.code]
        assert sum("directory_agency" in statement for statement, _ in ran) == 1
        with pytest.raises(RuntimeError):  # a unit of work that added an agency, then failed: undone
            async with unit_of_work(database) as uow:
                await uow.directory.save(row_of(team))
                assert sorted(a.code for a in await uow.directory.active()) == sorted([gp.code, team.code])
                raise RuntimeError("the unit of work fails")
        async with unit_of_work(database) as uow:
            assert [a.code for a in await uow.directory.active()] == [gp.code]
            await uow.directory.save(row_of(team))
        async with unit_of_work(database) as uow:  # the change is read by the batch's next unit of work
            assert sorted(a.code for a in await uow.directory.active()) == sorted([gp.code, team.code])


def referral(referral_id: str, handover_id: str, agency_code: str) -> Referral:
    return Referral(
        id=referral_id,
        handover_id=handover_id,
        agency_code=agency_code,
        agency_kind="gp_practice",
        agency_name="Test practice",
        referral_kind="gp_registration",
        status="sent",
        reason="test",
        sections="{}",
        created_at=NOW,
        updated_at=NOW,
    )


async def test_a_delivery_starts_the_time_to_answer_of_that_agencys_referrals_once(database: Database) -> None:
    async with unit_of_work(database) as uow:
        for handover_id in ("h1", "h2"):
            await uow.handovers.add(handover(handover_id, f"n-{handover_id}", "A1234BC", HandoverState.OPEN))
    async with unit_of_work(database) as uow:
        for referral_id, handover_id, agency in [("r1", "h1", "A"), ("r2", "h1", "B"), ("r3", "h2", "A")]:
            await uow.referrals.add(referral(referral_id, handover_id, agency))
    later = NOW + timedelta(hours=1)
    async with unit_of_work(database) as uow:
        # Added in the same unit of work as the delivery is noted: noted too.
        await uow.referrals.add(referral("r4", "h1", "A"))
        await uow.outcomes.note_delivered("h1", "A", NOW)
    async with unit_of_work(database) as uow:
        await uow.outcomes.note_delivered("h1", "A", later)  # a repeat: the first time stays
        await uow.outcomes.note_delivered("h1", "B", later)
    async with database.session() as session:
        noted = {row.referral_id: row.delivered_at for row in (await session.exec(select(ReferralDelivered))).all()}
    assert noted == {"r1": NOW, "r4": NOW, "r2": later}


async def test_on_sqlite_a_delivery_outcome_reads_one_handovers_referrals_through_their_own_index(
    database: Database,
) -> None:
    if database.engine.dialect.name != "sqlite":
        pytest.skip("query plans are SQLite's: PostgreSQL plans by its statistics")
    async with unit_of_work(database) as uow:
        for n in range(30):
            await uow.handovers.add(handover(f"h{n}", f"n-{n}", f"A{n:04d}BC", HandoverState.OPEN))
    async with unit_of_work(database) as uow:
        for n in range(30):
            for agency in ("A", "B", "C"):
                made = referral(f"r{n}{agency}", f"h{n}", agency)
                made.status = "requested"
                await uow.referrals.add(made)
    with statements_run(database) as ran:
        async with unit_of_work(database) as uow:
            assert [r.id for r in await uow.referrals.open_of_agency("h7", "B")] == ["r7B"]
            await uow.outcomes.note_delivered("h7", "B", NOW)
    reads = [(statement, parameters) for statement, parameters in ran if "FROM referral" in statement]
    assert len(reads) == 2, "the open referrals, the first delivery noted"
    for plan in sqlite_plans(database, reads):
        steps = [step for step in plan if " referral " in f"{step} "]
        expected = "SEARCH referral USING INDEX ix_referral_handover_agency (handover_id=? AND agency_code=?)"
        assert steps == [expected], plan
