"""Notice corrections on the fake unit of work: applied once, in revision order; custody-decided fields kept."""

from __future__ import annotations

from datetime import timedelta

from contracts.envelope import CloudEvent, EventType
from contracts.release_notice import ReleaseNoticeAmendedV1, ReleaseNoticeV1
from services.handover.usecases.corrections import apply_notice_correction
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, event_of, opened


def correction(corrected: ReleaseNoticeV1, revision: int) -> CloudEvent:
    data = ReleaseNoticeAmendedV1.model_validate(
        {
            "notice_id": "notice-1",
            "revision": revision,
            "amendment_id": f"amendment-{revision}",
            "received_at": NOW,
            "reason": "typo",
            "notice": corrected.model_dump(mode="json"),
        }
    )
    return event_of(EventType.RELEASE_NOTICE_AMENDED, data, subject=corrected.prison_number)


async def apply(uow: FakeHandoverUnitOfWork, event: CloudEvent) -> bool:
    return await apply_notice_correction(uow=uow, event=event, source=SOURCE, now=NOW, registration_days=3)


async def test_a_correction_amends_the_pack_once_and_in_revision_order() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    before = ReleaseNoticeV1.model_validate_json(handover.notice)
    later = before.release.date + timedelta(days=2)
    corrected = before.model_copy(update={"release": before.release.model_copy(update={"date": later})})

    assert await apply(uow, correction(corrected, 2))
    assert handover.revision == 2 and handover.release_date == later and handover.current_version == 2
    [amended] = uow.events(EventType.HANDOVER_PACK_AMENDED)
    assert amended["reason"] == "notice corrected by prison healthcare (revision 2): typo"
    assert not await apply(uow, correction(corrected, 2)), "a revision already applied is ignored"


async def test_a_correction_of_a_closed_case_is_recorded_and_changes_nothing() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    handover.state = "withdrawn"
    corrected = ReleaseNoticeV1.model_validate_json(handover.notice).model_copy(update={"given_name": "Alex"})

    assert not await apply(uow, correction(corrected, 2))
    assert handover.revision == 2 and handover.current_version == 1 and uow.committed
