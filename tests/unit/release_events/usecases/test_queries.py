"""Reading a notice's and a custody event's status on a fake unit of work: the stage, corrections, pack and
deliveries; a caller that may not read gets the same answer as for no such thing, and no read is recorded."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts.custody import CustodyEventV1
from contracts.release_notice import ReleaseNoticeV1
from services.release_events.adapters.tables import NoticeProgress
from services.release_events.domain.notices import NoticeNotFound, NoticeStage
from services.release_events.usecases.accept_notice import accept_notice
from services.release_events.usecases.amend_notice import Amendment, amend_notice
from services.release_events.usecases.ports import DeliveryNote
from services.release_events.usecases.queries import (
    CustodyEventNotFound,
    custody_event_status,
    notice_progress,
    notice_status,
)
from services.release_events.usecases.record_custody_event import record_custody_event
from tests.unit.release_events.fakes import FakeReleaseEventsUnitOfWork
from tests.unit.release_events.usecases.support import NOW, entry, notice_body, submission
from ttg.synthetic import custody_event

READ = replace(entry("notice.read"), subject=None, details={})


async def test_a_notice_moves_from_accepted_to_published_to_pack_issued_with_its_corrections() -> None:
    uow, body = FakeReleaseEventsUnitOfWork(), notice_body()
    await accept_notice(uow=uow, submission=submission(body), notice_id="n1", now=NOW, source="t")
    status = await notice_status(uow=uow, notice_id="n1", may_read=lambda code: True, audit_entry=READ)
    assert status.stage == NoticeStage.ACCEPTED and status.revision == 1
    uow.publications.published[uow.notices.rows["n1"].event_id] = NOW
    corrected = ReleaseNoticeV1.model_validate({**body, "given_name": "Corrected"})
    amendment = Amendment(notice_id="n1", notice=corrected, reason=None, correlation_id="c", audit_entry=entry())
    await amend_notice(uow=uow, amendment=amendment, amendment_id="a1", may_see=lambda c: True, now=NOW, source="t")
    uow.progress.save(NoticeProgress(handover_id="h1", notice_id="n1", version=1, state="issued", updated_at=NOW))
    await uow.progress.note_each([DeliveryNote("h1", "A1", "m", "pending", NOW)])
    status = await notice_status(uow=uow, notice_id="n1", may_read=lambda code: True, audit_entry=READ)
    assert (status.stage, status.published_at, status.revision) == (NoticeStage.PACK_ISSUED, NOW, 2)
    assert [(item.amendment_id, item.published_at) for item in status.amendments] == [("a1", None)]
    assert '"Corrected"' in status.body and [item.agency_code for item in status.deliveries] == ["A1"]
    assert [item.resource_id for item in uow.audit.entries if item.action == "notice.read"] == ["n1", "n1"]
    pack, deliveries = await notice_progress(uow=uow, notice_id="n1")
    assert pack is not None and pack.handover_id == "h1" and len(deliveries) == 1


async def test_a_notice_the_caller_may_not_read_is_not_found_and_the_attempt_not_recorded_as_a_read() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    await accept_notice(uow=uow, submission=submission(notice_body()), notice_id="n1", now=NOW, source="t")
    for notice_id in ("n1", "missing"):
        with pytest.raises(NoticeNotFound):
            await notice_status(uow=uow, notice_id=notice_id, may_read=lambda code: False, audit_entry=READ)
    assert all(item.action != "notice.read" for item in uow.audit.entries)


async def test_a_custody_event_is_read_by_its_sender_or_receiver_only() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = custody_event("A1234BC", "transfer", sequence=1, establishment_code="DMI", from_establishment_code="HHI")
    await record_custody_event(
        uow=uow,
        event=CustodyEventV1.model_validate(body),
        body=body,
        custody_event_id="ce1",
        now=NOW,
        source="t",
        correlation_id="c",
    )
    read = replace(READ, action="custody_event.read")
    found = await custody_event_status(
        uow=uow, custody_event_id="ce1", may_read=lambda codes: "HHI" in codes, audit_entry=read
    )
    assert found.establishments == {"DMI", "HHI"} and found.published_at is None
    with pytest.raises(CustodyEventNotFound):
        await custody_event_status(
            uow=uow, custody_event_id="ce1", may_read=lambda codes: "BMI" in codes, audit_entry=read
        )
    assert [item.action for item in uow.audit.entries] == ["custody_event.read"]
    assert found.received_at == NOW
