"""A handover event in: one delivery per distribution entry, never twice for one event, and its release facts."""

from __future__ import annotations

import json
from datetime import date

from contracts.envelope import CloudEvent, EventType
from services.notifier.domain.agencies import Directory
from services.notifier.usecases.plan_deliveries import plan_deliveries
from tests.unit.notifier.usecases.conftest import T0
from tests.unit.notifier.usecases.fakes import FakeNotifierUow

RELEASE = {"date": "2026-12-10", "establishment_code": "HHI", "destination": {"address": {"postcode": "ts1 1aa"}}}


def pack_event(kind: EventType = EventType.HANDOVER_PACK_ISSUED, event_id: str = "e1") -> CloudEvent:
    distribution = [
        {"agency_code": "CMHT", "sections": {"release": RELEASE}},
        {"agency_code": "NOWHERE", "sections": {}},
    ]
    data = {"handover_id": "h", "distribution": distribution}
    return CloudEvent(
        id=event_id, source="s", type=kind.value, time=T0, subject="A1234BC", data=data, correlationid="c"
    )


async def test_one_pending_delivery_per_entry_each_carrying_its_entry(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    assert await plan_deliveries(uow=uow, event=pack_event(), directory=directory, now=T0) == 2
    rows = uow.deliveries.rows
    assert [(d.agency_code, d.event_type, d.status.value) for d in rows] == [
        ("CMHT", "handover.pack.issued", "pending"),
        ("NOWHERE", "handover.pack.issued", "pending"),
    ], "an agency the directory lacks is still planned, to fail visibly"
    assert json.loads(rows[0].payload)["data"]["sections"]["release"] == RELEASE
    assert rows[0].next_attempt_at == T0 and rows[0].correlation_id == "c" and rows[0].webhook_id.startswith("msg_")
    assert len({d.webhook_id for d in rows}) == 2 and uow.committed


async def test_a_repeated_event_plans_nothing_more_but_the_facts_are_kept(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    await plan_deliveries(uow=uow, event=pack_event(), directory=directory, now=T0)
    assert await plan_deliveries(uow=uow, event=pack_event(), directory=directory, now=T0) == 0
    assert len(uow.deliveries.rows) == 2
    fact = uow.handovers.facts["h"]
    assert (fact.establishment_code, fact.release_date, fact.district) == ("HHI", date(2026, 12, 10), "TS1")


async def test_a_withdrawal_marks_the_handover_withdrawn_and_keeps_what_it_does_not_say(
    uow: FakeNotifierUow, directory: Directory
) -> None:
    await plan_deliveries(uow=uow, event=pack_event(), directory=directory, now=T0)
    withdrawn = CloudEvent(
        id="e2",
        source="s",
        type=EventType.HANDOVER_PACK_WITHDRAWN.value,
        time=T0,
        subject="A1234BC",
        data={"handover_id": "h", "distribution": []},
    )
    assert await plan_deliveries(uow=uow, event=withdrawn, directory=directory, now=T0) == 0
    fact = uow.handovers.facts["h"]
    assert fact.withdrawn and fact.establishment_code == "HHI"
