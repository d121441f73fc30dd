"""Amending a pack on the fake unit of work: only agencies whose part changed are told; invalidated answers are
asked again; a referral out of the new area moves to the agency covering it."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.envelope import EventType
from contracts.release_notice import ReleaseNoticeV1, ReportingInstructions
from services.handover.usecases.amend import amend
from services.handover.usecases.issuing import Stamp
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, opened, referral_to

STAMP = Stamp(SOURCE, NOW, None)


async def test_nothing_changed_for_anyone_issues_nothing() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    same = ReleaseNoticeV1.model_validate_json(handover.notice)

    version = await amend(uow=uow, stamp=STAMP, handover=handover, notice=same, reason="none", registration_days=3)

    assert version is None and handover.current_version == 1 and not uow.events(EventType.HANDOVER_PACK_AMENDED)


async def test_a_later_release_asks_probation_to_confirm_again() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    probation = referral_to(uow, "PDU-DUR")
    report_at = datetime.combine(handover.release_date, datetime.min.time()).replace(hour=14, tzinfo=NOW.tzinfo)
    confirmed = ReportingInstructions(office="Durham Probation Office", report_at=report_at, practitioner="Duty")
    probation.status, probation.report_at, probation.reporting = "accepted", report_at, confirmed.model_dump_json()
    before = ReleaseNoticeV1.model_validate_json(handover.notice)
    later = before.model_copy(
        update={"release": before.release.model_copy(update={"date": handover.release_date + timedelta(days=5)})}
    )

    version = await amend(uow=uow, stamp=STAMP, handover=handover, notice=later, reason="moved", registration_days=3)

    assert version == 2 and probation.status == "requested" and probation.invalidated_reason
    [amended] = uow.events(EventType.HANDOVER_PACK_AMENDED)
    [told] = [e for e in amended["distribution"] if e["agency_code"] == "PDU-DUR"]
    assert told["message"] == "amended" and told["invalidated"]


async def test_a_move_out_of_area_withdraws_the_referral_and_sends_it_to_the_covering_agency() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    moved = notice(establishment="DMI", place="teesside")
    before = ReleaseNoticeV1.model_validate_json(handover.notice)
    destination = before.release.model_copy(update={"destination": moved.release.destination})
    elsewhere = before.model_copy(update={"release": destination})

    assert await amend(uow=uow, stamp=STAMP, handover=handover, notice=elsewhere, reason="moved", registration_days=3)

    [amended] = uow.events(EventType.HANDOVER_PACK_AMENDED)
    told = {(e["agency_code"], e["message"]) for e in amended["distribution"]}
    assert ("PDU-DUR", "withdrawn") in told and ("PDU-TEES", "issued") in told
    assert referral_to(uow, "PDU-DUR").status == "cancelled"
