"""Routing a referral on, on the fake unit of work: the next candidate, or an escalation when there is none."""

from __future__ import annotations

from contracts.envelope import EventType
from services.handover.usecases.issuing import Stamp
from services.handover.usecases.rerouting import route_on
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, opened, referral_to

STAMP = Stamp(SOURCE, NOW, "c-3")


async def test_a_rejected_referral_goes_to_the_next_candidate_not_yet_asked() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    rejected = referral_to(uow, "CMHT-DUR")

    moved = await route_on(uow, STAMP, handover, rejected, await uow.directory.active(), cause="unreachable")

    assert moved.rerouted_to == "RECONNECT-DUR" and moved.escalated_to == []
    [routed] = uow.events(EventType.REFERRAL_REROUTED)
    assert routed["reason"] == "unreachable" and routed["distribution"][0]["message"] == "rerouted"
    assert referral_to(uow, "RECONNECT-DUR").sections != "{}", "the new referral keeps what it was sent"


async def test_with_no_candidate_left_the_prison_and_reconnect_are_told() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    directory = [a for a in await uow.directory.active() if a.code != "RECONNECT-DUR"]

    moved = await route_on(uow, STAMP, handover, referral_to(uow, "CMHT-DUR"), directory)

    assert moved.rerouted_to is None and moved.escalated_to == ["PH-DMI"]
    [escalated] = uow.events(EventType.REFERRAL_ESCALATED)
    assert escalated["distribution"][0]["note"].startswith("Escalation: the mental_health referral was rejected")
