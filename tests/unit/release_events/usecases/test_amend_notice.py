"""Correcting a notice on a fake unit of work: the next revision with its event; the same correction again is a
duplicate; another person or establishment, a superseded notice, another establishment's notice and a person no
longer held are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.envelope import EventType
from contracts.release_notice import ReleaseNoticeV1
from services.release_events.domain.custody_rules import Custody, CustodyRefused
from services.release_events.domain.notices import NoticeNotFound, NotTheSameRelease, Superseded
from services.release_events.usecases.accept_notice import accept_notice
from services.release_events.usecases.amend_notice import AmendAnswer, Amendment, amend_notice
from tests.unit.release_events.fakes import FakeReleaseEventsUnitOfWork
from tests.unit.release_events.usecases.support import NOW, entry, notice_body, submission


async def accepted(uow: FakeReleaseEventsUnitOfWork, notice_id: str = "n1", **changes: object) -> dict[str, object]:
    body = notice_body(**changes)
    await accept_notice(uow=uow, submission=submission(body), notice_id=notice_id, now=NOW, source="t")
    return body


def correction(body: dict[str, object], notice_id: str = "n1") -> Amendment:
    return Amendment(
        notice_id=notice_id,
        notice=ReleaseNoticeV1.model_validate(body),
        reason="wrong date",
        correlation_id="c2",
        audit_entry=entry("notice.amended"),
    )


async def amend(uow: FakeReleaseEventsUnitOfWork, body: dict[str, object], amendment_id: str = "a1") -> AmendAnswer:
    later = NOW + timedelta(hours=1)
    return await amend_notice(
        uow=uow,
        amendment=correction(body),
        amendment_id=amendment_id,
        may_see=lambda code: code == "DMI",
        now=later,
        source="t",
    )


async def test_a_correction_is_the_next_revision_with_its_event_and_audit_entry() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = await accepted(uow)
    answer = await amend(uow, {**body, "given_name": "Corrected"})
    assert answer.status_code == 202 and answer.body["revision"] == 2 and answer.body["amendment_id"] == "a1"
    assert uow.notices.rows["n1"].revision == 2
    assert [row.revision for row in uow.notices.revisions] == [2]
    assert len(uow.outbox.of_type(EventType.RELEASE_NOTICE_AMENDED.value)) == 1
    assert uow.audit.entries[-1].details == {"establishment_code": "DMI", "revision": 2, "amendment_id": "a1"}


async def test_the_same_correction_again_is_a_duplicate_that_publishes_nothing() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = {**await accepted(uow), "given_name": "Corrected"}
    await amend(uow, body)
    again = await amend(uow, body, amendment_id="a2")
    assert (again.status_code, again.body["status"], again.body["amendment_id"]) == (200, "duplicate", "a1")
    assert len(uow.outbox.of_type(EventType.RELEASE_NOTICE_AMENDED.value)) == 1


async def test_another_establishments_notice_is_not_found() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = await accepted(uow)
    with pytest.raises(NoticeNotFound):
        await amend_notice(
            uow=uow, amendment=correction(body), amendment_id="a1", may_see=lambda code: False, now=NOW, source="t"
        )


async def test_a_correction_keeps_the_person_and_the_establishment() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = await accepted(uow)
    with pytest.raises(NotTheSameRelease) as mismatch:
        await amend(uow, {**body, "establishment_code": "HHI"})
    assert mismatch.value.field == "establishment_code"


async def test_only_the_latest_notice_of_the_person_is_corrected() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = await accepted(uow)
    later = {**body, "given_name": "Later"}
    await accept_notice(
        uow=uow, submission=submission(later), notice_id="n2", now=NOW + timedelta(minutes=1), source="t"
    )
    with pytest.raises(Superseded):
        await amend(uow, {**body, "given_name": "Corrected"})


async def test_a_person_no_longer_held_is_refused_and_the_refusal_recorded() -> None:
    uow = FakeReleaseEventsUnitOfWork()
    body = await accepted(uow)
    await uow.register.save(str(body["prison_number"]), Custody(released=True), set_by="custody_event:x", now=NOW)
    with pytest.raises(CustodyRefused) as refused:
        await amend(uow, {**body, "given_name": "Corrected"})
    assert refused.value.refused.kind == "not-in-custody"
    assert uow.notices.revisions == []
    assert (uow.audit.entries[-1].action, uow.audit.entries[-1].details) == (
        "notice.amend_refused",
        {"notice_id": "n1", "rule": "not-in-custody"},
    )
