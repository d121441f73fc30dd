"""Keeping the readiness a case ended with, noting deliveries and building the report, on an in-memory unit of
work (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.delivery import DeliveryOutcomeV1
from contracts.handover import ReferralKind
from services.handover.domain.outcomes import Ending, Measure, ReferralOutcome
from services.handover.domain.readiness import Item, Readiness, ReadinessFacts, ReferralProgress
from services.handover.domain.referrals import ReferralStatus
from services.handover.usecases.outcomes import (
    CaseAtEnd,
    ReportScope,
    keep_outcome,
    note_delivery,
    outcomes_report,
)
from tests.unit.handover.fakes import FakeHandoverUnitOfWork

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
FACTS = ReadinessFacts(
    release_date=date(2026, 12, 3),
    registration_needed=True,
    medications=[],
    needs=frozenset({ReferralKind.GP_REGISTRATION}),
    referrals=[ReferralProgress(ReferralKind.GP_REGISTRATION, ReferralStatus.ACCEPTED)],
)


def delivery(status: str, handover_id: str | None = "h1") -> DeliveryOutcomeV1:
    return DeliveryOutcomeV1(
        webhook_id="msg_1",
        source_event_id="e1",
        handover_id=handover_id,
        agency_code="A99001",
        status=status,
        attempts=1,
    )


@pytest.mark.hazard("H77")
async def test_a_release_keeps_its_readiness_once_and_a_later_ending_changes_nothing() -> None:
    uow = FakeHandoverUnitOfWork()
    uow.outcomes.cases["h1"] = CaseAtEnd("h1", "A1234BC", "DMI", FACTS)
    kept = await keep_outcome(uow=uow, handover_id="h1", ending=Ending.RELEASED, now=NOW)
    assert kept is not None and uow.committed
    assert uow.outcomes.kept["h1"].items == ((Item.GP, Readiness.DONE), (Item.MEDICATION, Readiness.DONE))
    again = await keep_outcome(uow=uow, handover_id="h1", ending=Ending.RECALLED, now=NOW + timedelta(days=1))
    assert again == kept and uow.outcomes.kept["h1"].ending == Ending.RELEASED


async def test_an_unknown_handover_keeps_nothing() -> None:
    uow = FakeHandoverUnitOfWork()
    assert await keep_outcome(uow=uow, handover_id="nope", ending=Ending.RELEASE_CANCELLED, now=NOW) is None
    assert uow.outcomes.kept == {}


async def test_only_a_delivery_starts_the_time_to_answer_and_the_first_one_counts() -> None:
    uow = FakeHandoverUnitOfWork()
    assert not await note_delivery(uow=uow, outcome=delivery("failed"), at=NOW)
    assert not await note_delivery(uow=uow, outcome=delivery("delivered", handover_id=None), at=NOW)
    assert uow.outcomes.delivered == {}
    assert await note_delivery(uow=uow, outcome=delivery("delivered"), at=NOW)
    assert await note_delivery(uow=uow, outcome=delivery("delivered"), at=NOW + timedelta(hours=1))
    assert uow.outcomes.delivered == {("h1", "A99001"): NOW}


async def test_the_report_takes_whole_months_and_the_readers_scope() -> None:
    uow = FakeHandoverUnitOfWork()
    for handover_id, establishment, at in [
        ("h1", "DMI", datetime(2026, 11, 30, 23, 59, tzinfo=UTC)),
        ("h2", "DMI", datetime(2026, 12, 1, tzinfo=UTC)),
        ("h3", "BMI", datetime(2026, 12, 31, 23, 59, tzinfo=UTC)),
        ("h4", "DMI", datetime(2027, 1, 1, tzinfo=UTC)),
    ]:
        uow.outcomes.cases[handover_id] = CaseAtEnd(handover_id, "A1234BC", establishment, FACTS)
        await keep_outcome(uow=uow, handover_id=handover_id, ending=Ending.RELEASED, now=at)
    uow.outcomes.referrals = [
        ReferralOutcome("h2", "A99001", "gp_practice", NOW, NOW + timedelta(hours=3)),
        ReferralOutcome("h2", "CMHT-DUR", "community_mental_health_team", NOW, NOW + timedelta(hours=5)),
    ]
    december = {"first_month": date(2026, 12, 1), "last_month": date(2026, 12, 1)}
    everything = await outcomes_report(uow=uow, **december, scope=ReportScope(None, None, True))
    releases = {(f.month, f.establishment): f.count for f in everything if f.measure == Measure.RELEASES}
    assert releases == {("2026-12", "DMI"): 1, ("2026-12", "BMI"): 1}
    dmi = await outcomes_report(uow=uow, **december, scope=ReportScope(frozenset({"DMI"}), None, True))
    assert {f.establishment for f in dmi} == {"DMI"}
    gp = await outcomes_report(uow=uow, **december, scope=ReportScope(None, "A99001", False))
    assert {(f.measure, f.agency_kind, f.value) for f in gp} == {
        (Measure.ANSWER_HOURS_MEDIAN, "gp_practice", 3.0),
        (Measure.ANSWER_HOURS_P90, "gp_practice", 3.0),
    }
