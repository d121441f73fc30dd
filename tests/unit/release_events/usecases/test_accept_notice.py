"""Accepting a notice on a fake unit of work: stored with its event, audit entry and register line in one commit;
an Idempotency-Key replays the first answer; a repeat without a key is a duplicate; a person held elsewhere is
refused with nothing stored but the refusal's audit entry."""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType

import pytest

from contracts.envelope import EventType
from services.release_events.adapters.tables import IdempotencyRecord
from services.release_events.domain.custody_rules import Custody, CustodyRefused
from services.release_events.domain.notices import IdempotencyConflict
from services.release_events.usecases.accept_notice import accept_notice
from services.release_events.usecases.ports import WriteConflict
from tests.unit.release_events.fakes import FakeReleaseEventsUnitOfWork
from tests.unit.release_events.usecases.support import NOW, notice_body, submission


async def test_a_notice_is_stored_published_audited_and_claims_the_person() -> None:
    uow, body = FakeReleaseEventsUnitOfWork(), notice_body()
    answer = await accept_notice(uow=uow, submission=submission(body, "k1"), notice_id="n1", now=NOW, source="t")
    assert (answer.status_code, answer.body["notice_id"], answer.replayed) == (202, "n1", False)
    assert uow.committed and set(uow.notices.rows) == {"n1"}
    assert [event.subject for event in uow.outbox.of_type(EventType.RELEASE_NOTICE_SUBMITTED.value)] == [
        body["prison_number"]
    ]
    assert [(item.action, item.resource_id) for item in uow.audit.entries] == [("notice.submitted", "n1")]
    assert uow.register.lines[body["prison_number"]] == (Custody(holder="DMI"), "notice:n1")
    assert ("prison-dmi", "k1") in uow.idempotency.rows


async def test_the_same_key_and_body_replays_and_another_body_conflicts() -> None:
    uow, body = FakeReleaseEventsUnitOfWork(), notice_body()
    first = await accept_notice(uow=uow, submission=submission(body, "k1"), notice_id="n1", now=NOW, source="t")
    again = await accept_notice(uow=uow, submission=submission(body, "k1"), notice_id="n2", now=NOW, source="t")
    assert again.replayed and again.body == first.body
    with pytest.raises(IdempotencyConflict):
        other = {**body, "given_name": "Different"}
        await accept_notice(uow=uow, submission=submission(other, "k1"), notice_id="n3", now=NOW, source="t")
    assert set(uow.notices.rows) == {"n1"} and len(uow.outbox.events) == 1


async def test_an_expired_key_gives_way_to_a_new_submission() -> None:
    uow, body = FakeReleaseEventsUnitOfWork(), notice_body()
    await accept_notice(uow=uow, submission=submission(body, "k1"), notice_id="n1", now=NOW, source="t")
    later = NOW + timedelta(days=8)
    other = {**body, "given_name": "Different"}
    answer = await accept_notice(uow=uow, submission=submission(other, "k1"), notice_id="n2", now=later, source="t")
    assert answer.status_code == 202 and not answer.replayed
    assert uow.idempotency.rows[("prison-dmi", "k1")].created_at == later


async def test_a_repeat_without_a_key_is_a_duplicate_of_the_latest_notice_and_stores_nothing() -> None:
    uow, body = FakeReleaseEventsUnitOfWork(), notice_body()
    await accept_notice(uow=uow, submission=submission(body), notice_id="n1", now=NOW, source="t")
    answer = await accept_notice(uow=uow, submission=submission(body), notice_id="n2", now=NOW, source="t")
    assert (answer.status_code, answer.body["status"], answer.body["notice_id"]) == (200, "duplicate", "n1")
    assert answer.duplicate and set(uow.notices.rows) == {"n1"} and len(uow.outbox.events) == 1


async def test_a_person_held_elsewhere_is_refused_and_only_the_refusal_is_recorded() -> None:
    uow, body = FakeReleaseEventsUnitOfWork(), notice_body()
    await uow.register.save(body["prison_number"], Custody(holder="HHI"), set_by="notice:x", now=NOW)
    with pytest.raises(CustodyRefused) as refused:
        await accept_notice(uow=uow, submission=submission(body), notice_id="n1", now=NOW, source="t")
    assert refused.value.refused.kind == "held-elsewhere"
    assert uow.notices.rows == {} and uow.outbox.events == []
    [record] = uow.audit.entries
    assert (record.action, record.outcome, record.details["rule"]) == ("notice.refused", "refused", "held-elsewhere")


class RacingUnitOfWork(FakeReleaseEventsUnitOfWork):
    """A concurrent request with the same key commits first: this one's commit fails."""

    def __init__(self, winner: IdempotencyRecord) -> None:
        super().__init__()
        self.winner = winner

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None and self.commits == 0 and self.notices.rows:
            self.notices.rows.clear()
            self.idempotency.rows[(self.winner.scope, self.winner.key)] = self.winner
            raise WriteConflict("duplicate key")
        await super().__aexit__(kind, error, trace)


async def test_losing_a_race_on_the_same_key_answers_as_the_winner_did() -> None:
    body = notice_body()
    winner_uow = FakeReleaseEventsUnitOfWork()
    await accept_notice(uow=winner_uow, submission=submission(body, "k1"), notice_id="n1", now=NOW, source="t")
    uow = RacingUnitOfWork(winner_uow.idempotency.rows[("prison-dmi", "k1")])
    answer = await accept_notice(uow=uow, submission=submission(body, "k1"), notice_id="n2", now=NOW, source="t")
    assert answer.replayed and answer.body["notice_id"] == "n1"
