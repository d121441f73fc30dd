"""The read models on the fake unit of work: a handover as it stands, worklists, departures, the custody log."""

from __future__ import annotations

from datetime import timedelta

from services.handover.domain.case import HandoverState
from services.handover.domain.readiness import Readiness
from services.handover.usecases import queries
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, FakeHandoverUnitOfWork, opened

RULES = queries.ReadinessRules(at_risk_hours=48, registration_days=3)


async def test_a_handover_reads_as_it_stands_and_by_its_notice() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))

    view = await queries.get_handover(uow=uow, handover_id=handover.id, now=NOW, rules=RULES)
    assert view is not None and view.version == 1 and view.state == "open" and len(view.referrals) == 3
    assert view.readiness.status == Readiness.PENDING, "two weeks before release, nothing is at risk yet"
    assert [
        v.handover_id for v in await queries.find_handovers(uow=uow, notice_id="notice-1", now=NOW, rules=RULES)
    ] == [handover.id]
    assert await queries.get_handover(uow=uow, handover_id="nope", now=NOW, rules=RULES) is None


async def test_an_agencys_worklist_holds_its_open_referrals_with_only_what_it_was_sent() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    await opened(uow, notice(establishment="DMI"))

    [item] = await queries.worklist(uow=uow, agency_code="PDU-DUR")
    assert item.referral.agency_code == "PDU-DUR" and item.sent["message"] == "issued"
    assert "medications" not in item.sent["pack"], "probation is not sent medication"


async def test_the_departure_lounge_pages_releases_with_their_readiness() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    first = await opened(uow, notice(establishment="DMI"), "notice-1")
    other = notice(establishment="DMI", release_in_days=15, changes=lambda raw: raw.update(prison_number="A1111AA"))
    handovers = [first, await opened(uow, other, "notice-2")]
    window = {"state": HandoverState.OPEN, "start": NOW.date(), "end": NOW.date() + timedelta(days=30), "search": None}

    page = await queries.departures(
        uow=uow,
        wanted=queries.lounge_query(establishment_code="DMI", limit=1, after=None, **window),
        now=NOW,
        rules=RULES,
    )

    assert [d.handover.id for d in page.departures] == [handovers[0].id] and page.after is not None
    assert page.departures[0].readiness.status == Readiness.PENDING
    rest = await queries.departures(
        uow=uow,
        wanted=queries.lounge_query(establishment_code="DMI", limit=1, after=page.after, **window),
        now=NOW,
        rules=RULES,
    )
    assert [d.handover.id for d in rest.departures] == [handovers[1].id] and rest.after is None


def test_a_search_is_a_prison_number_start_or_words_of_a_name() -> None:
    common = {
        "establishment_code": "DMI",
        "state": HandoverState.OPEN,
        "start": NOW.date(),
        "end": NOW.date(),
        "limit": 5,
        "after": None,
    }
    assert queries.lounge_query(search="a12", **common).prison_number_start == "A12"
    assert queries.lounge_query(search="Jo Smith", **common).name_words == ("jo", "smith")


async def test_the_custody_log_says_where_the_person_was_held() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))

    held_at, rows = await queries.custody_log(uow=uow, prison_number=handover.prison_number)
    assert held_at == {"DMI"} and rows == []
