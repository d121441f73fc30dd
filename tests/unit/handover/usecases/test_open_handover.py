"""Opening a handover from a notice, on the fake unit of work: version 1 to each routed agency, once."""

from __future__ import annotations

from contracts.envelope import EventType
from contracts.handover import HandoverPack
from services.handover.domain.referrals import ReferralStatus
from services.handover.usecases.open_handover import open_handover
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, opened, submitted


async def test_a_notice_opens_a_handover_and_issues_version_1_to_each_routed_agency() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(full=True, establishment="DMI"))

    assert uow.committed and handover.state == "open" and handover.current_version == 1
    [issued] = uow.events(EventType.HANDOVER_PACK_ISSUED)
    told = {entry["agency_code"]: entry["message"] for entry in issued["distribution"]}
    assert told == {"A99001": "issued", "CMHT-DUR": "issued", "SMS-DUR": "issued", "PDU-DUR": "issued"}
    assert {r.status for r in uow.referrals.rows.values()} == {ReferralStatus.REQUESTED.value}
    version = await uow.handovers.version(handover.id, 1)
    assert version is not None and HandoverPack.model_validate_json(version.pack).release.date == handover.release_date
    assert (await uow.custody.person(handover.prison_number)) is not None


async def test_the_same_event_twice_opens_one_handover() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    event = submitted(notice(establishment="DMI"))
    assert await open_handover(uow=uow, event=event, source=SOURCE, now=NOW, registration_days=3)
    assert not await open_handover(uow=uow, event=event, source=SOURCE, now=NOW, registration_days=3)
    assert len(uow.handovers.rows) == 1 and len(uow.events(EventType.HANDOVER_PACK_ISSUED)) == 1


async def test_a_new_notice_for_the_person_withdraws_the_open_handover_first() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    first = await opened(uow, notice(establishment="DMI"), "notice-1")
    second = await opened(uow, notice(establishment="DMI"), "notice-2")

    assert first.state == "withdrawn" and second.state == "open"
    [withdrawn] = uow.events(EventType.HANDOVER_PACK_WITHDRAWN)
    assert withdrawn["reason_code"] == "superseded" and withdrawn["handover_id"] == first.id
    assert all(r.status == "cancelled" for r in await uow.referrals.of_handover(first.id))


async def test_no_agency_for_a_needed_referral_notifies_the_prison_with_the_first_version() -> None:
    uow = FakeHandoverUnitOfWork([a for a in DIRECTORY if a.code != "PDU-DUR"])
    await opened(uow, notice(establishment="DMI"))

    [issued] = uow.events(EventType.HANDOVER_PACK_ISSUED)
    [prison] = [entry for entry in issued["distribution"] if entry["agency_code"] == "PH-DMI"]
    assert prison["referral_kind"] == "notification" and prison["note"].startswith("Action needed: ")
