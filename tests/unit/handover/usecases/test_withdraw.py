"""Withdrawing a pack on the fake unit of work: everyone who has it is told; live referrals are cancelled."""

from __future__ import annotations

from contracts.envelope import EventType
from contracts.handover import WithdrawalReason
from services.handover.domain.case import HandoverState
from services.handover.usecases.issuing import Stamp
from services.handover.usecases.withdraw import withdraw
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, opened


async def test_every_agency_with_the_pack_is_told_with_demographics_and_release_only() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(full=True, establishment="DMI"))

    await withdraw(
        uow=uow,
        stamp=Stamp(SOURCE, NOW, None),
        handover=handover,
        reason_code=WithdrawalReason.RELEASE_CANCELLED,
        reason="release cancelled",
        state=HandoverState.WITHDRAWN,
    )

    assert (handover.state, handover.state_reason) == ("withdrawn", "release cancelled")
    [withdrawn] = uow.events(EventType.HANDOVER_PACK_WITHDRAWN)
    assert {e["agency_code"] for e in withdrawn["distribution"]} == {"A99001", "CMHT-DUR", "SMS-DUR", "PDU-DUR"}
    assert all(set(e["pack"]) == {"patient_demographics", "release"} for e in withdrawn["distribution"])
    assert {r.status for r in uow.referrals.rows.values()} == {"cancelled"}
