"""Referral watches: a delivered referral is watched, an amendment that invalidates the answer re-arms it, a
withdrawal of the agency's part settles it, and only real answers stop it."""

from __future__ import annotations

from datetime import timedelta

from contracts.answers import Answer
from services.notifier.usecases.watches import record_answer, watch_if_referral
from tests.unit.notifier.usecases.conftest import T0, answer_event, pending
from tests.unit.notifier.usecases.fakes import FakeNotifierUow


async def test_a_delivered_referral_is_watched_and_a_notification_is_not(uow: FakeNotifierUow) -> None:
    await watch_if_referral(uow, delivery=pending(uow, "CMHT"), agency_kind="community_mental_health_team", now=T0)
    told = pending(uow, "REC", handover_id="h2", referral_kind="notification")
    await watch_if_referral(uow, delivery=told, agency_kind="reconnect", now=T0)
    assert list(uow.watches.rows) == [("h", "CMHT")] and uow.watches.rows[("h", "CMHT")].delivered_at == T0


async def test_an_invalidated_answer_rearms_and_a_withdrawn_part_settles(uow: FakeNotifierUow) -> None:
    kind = "community_mental_health_team"
    await watch_if_referral(uow, delivery=pending(uow, "CMHT"), agency_kind=kind, now=T0)
    assert await record_answer(uow=uow, event=answer_event(Answer.ACCEPTED))
    later = T0 + timedelta(days=1)
    amended = pending(uow, "CMHT", invalidated=["accepted"])
    await watch_if_referral(uow, delivery=amended, agency_kind=kind, now=later)
    watch = uow.watches.rows[("h", "CMHT")]
    assert (watch.delivered_at, watch.answered_at, watch.settled) == (later, None, False)
    await watch_if_referral(uow, delivery=pending(uow, "CMHT", message="withdrawn"), agency_kind=kind, now=later)
    assert watch.settled


async def test_only_a_real_answer_stops_the_watch_and_it_may_come_first(uow: FakeNotifierUow) -> None:
    assert not await record_answer(uow=uow, event=answer_event(Answer.RECEIVED))
    assert uow.watches.rows == {}
    assert await record_answer(uow=uow, event=answer_event(Answer.REJECTED))
    watch = uow.watches.rows[("h", "CMHT")]
    assert watch.answer == "rejected" and watch.delivered_at is None and uow.committed
