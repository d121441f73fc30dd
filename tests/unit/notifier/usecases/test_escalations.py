"""Unanswered referrals escalate once per deadline, one message per person naming every agency outstanding, to
the prison healthcare team and the area's RECONNECT service; a withdrawn handover settles its watches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from contracts.delivery import DeliveryEventType
from services.notifier.adapters.tables import HandoverFact
from services.notifier.domain.agencies import Directory
from services.notifier.domain.escalation_rules import Deadlines
from services.notifier.usecases.escalations import escalate_due
from tests.unit.notifier.usecases.conftest import T0, pending
from tests.unit.notifier.usecases.fakes import FakeNotifierUow

RULES = Deadlines(after_delivery=timedelta(hours=72), before_release=timedelta(hours=24))


def facts(uow: FakeNotifierUow, *, withdrawn: bool = False) -> None:
    uow.handovers.facts["h"] = HandoverFact(
        handover_id="h",
        subject="A1234BC",
        establishment_code="HHI",
        release_date=date(2026, 12, 10),
        district="TS1",
        withdrawn=withdrawn,
        updated_at=T0,
    )


async def watched(uow: FakeNotifierUow) -> None:
    for code, kind in (("CMHT", "community_mental_health_team"), ("GP", "gp_practice")):
        pending(uow, code)
        await uow.watches.watch("h", code, agency_kind=kind, subject="A1234BC", delivered_at=T0)


async def scan(uow: FakeNotifierUow, directory: Directory, now: datetime) -> int:
    return await escalate_due(new_uow=lambda: uow, directory=directory, rules=RULES, now=now, source="urn:test")


async def test_each_deadline_escalates_once_in_one_message_per_person(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    facts(uow)
    await watched(uow)
    assert await scan(uow, directory, T0 + timedelta(hours=71)) == 0
    assert await scan(uow, directory, T0 + timedelta(hours=73)) == 2
    assert await scan(uow, directory, T0 + timedelta(hours=74)) == 0, "once per deadline"
    [event] = uow.outbox.of_type(DeliveryEventType.REFERRAL_ESCALATED.value)
    assert sorted(item["agency_code"] for item in event.data["outstanding"]) == ["CMHT", "GP"]
    assert event.data["told"] == ["HCC", "REC"]
    notices = [d.agency_code for d in uow.deliveries.rows if d.event_type == "handover.referral.escalated"]
    assert sorted(notices) == ["HCC", "REC"], "one message to each contact"
    assert {row.told for row in uow.escalations.rows} == {"HCC,REC"}
    assert [row.action for row in uow.delivery_audit.rows] == ["referral_escalated"] * 2
    assert await scan(uow, directory, datetime(2026, 12, 9, 1, 0, tzinfo=UTC)) == 2, "the day before release"
    assert all(watch.settled for watch in uow.watches.rows.values()), "nothing left to escalate"


async def test_a_withdrawn_handover_settles_without_escalating(uow: FakeNotifierUow, directory: Directory) -> None:
    facts(uow, withdrawn=True)
    await watched(uow)
    assert await scan(uow, directory, T0 + timedelta(days=30)) == 0
    assert uow.outbox.events == [] and all(watch.settled for watch in uow.watches.rows.values())
