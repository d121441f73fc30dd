"""Issuing a version on the fake unit of work: each agency's entry, the event, the version row, once."""

from __future__ import annotations

from contracts.envelope import EventType
from contracts.handover import HandoverPack
from services.handover.usecases.issuing import Outgoing, Stamp, current_pack, issue_version, recipient_of
from tests.unit.handover.factories import DIRECTORY, notice
from tests.unit.handover.fakes import NOW, SOURCE, FakeHandoverUnitOfWork, opened, referral_to


async def test_a_later_version_is_an_amendment_recorded_as_a_version_row_with_its_event() -> None:
    uow = FakeHandoverUnitOfWork(DIRECTORY)
    handover = await opened(uow, notice(establishment="DMI"))
    pack: HandoverPack = await current_pack(uow, handover)
    gp = referral_to(uow, "A99001")

    event = await issue_version(
        uow,
        Stamp(SOURCE, NOW, "c-5"),
        handover,
        version=2,
        pack=pack,
        outgoing=[Outgoing(recipient_of(gp), "amended", gp, note="checked")],
        reason="checked",
    )

    assert event.type == EventType.HANDOVER_PACK_AMENDED and event.correlationid == "c-5"
    assert handover.current_version == 2
    row = await uow.handovers.version(handover.id, 2)
    assert row is not None and row.event_id == event.id
    [entry] = event.data["distribution"]
    assert (entry["agency_code"], entry["message"], entry["note"]) == ("A99001", "amended", "checked")
    assert '"message":"amended"' in gp.sections, "the referral keeps the last entry its agency was sent"
