"""Escalation once per deadline, stopped by an answer or a withdrawal: the notifier's use cases on a real (SQLite
file) database, on a frozen clock; no broker, no HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.answers import Answer
from contracts.envelope import EventType
from services.common.clock import FrozenClock
from services.common.db import Database
from services.notifier.domain.agencies import Directory
from services.notifier.domain.states import DeliveryStatus
from services.notifier.usecases import queries
from services.notifier.usecases.watches import record_answer
from tests.unit.notifier.store_support import (
    T0,
    add,
    finish,
    outbox,
    remember,
    scan,
    uow,
)
from tests.unit.notifier.usecases.conftest import answer_event


async def answered(database: Database, clock: FrozenClock, agency_code: str, answer: Answer) -> None:
    """The agency's answer to its referral of handover ``h`` arrives."""
    await record_answer(uow=uow(database, clock), event=answer_event(answer, agency_code))


@pytest.mark.hazard("H27", "H48")
async def test_an_unanswered_referral_escalates_once_per_deadline_and_an_answer_stops_it(
    database: Database, directory: Directory
) -> None:
    clock = FrozenClock(T0)
    release = date(2026, 12, 10)
    issued: dict[str, object] = {
        "handover_id": "h",
        "distribution": [
            {
                "agency_code": "CMHT",
                "sections": {
                    "release": {
                        "date": release.isoformat(),
                        "establishment_code": "HHI",
                        "destination": {"kind": "address", "address": {"postcode": "TS1 1AA"}},
                    }
                },
            }
        ],
    }
    await remember(database, clock, issued)
    cmht = await add(database, directory, "CMHT", "A1234BC", T0)
    gp = await add(
        database, directory, "A", "A1234BC", T0, data={"pack": {"gp_practice": {"registration_needed": True}}}
    )
    b = await add(database, directory, "B", "A1234BC", T0)
    for delivery in (cmht, gp, b):  # the directory says their kinds: two CMHTs and a GP practice
        await finish(database, clock, directory, delivery, DeliveryStatus.DELIVERED)
    await answered(database, clock, "B", Answer.ACCEPTED)
    await answered(database, clock, "A", Answer.RECEIVED)

    assert await scan(database, clock, directory) == 0
    clock.advance(timedelta(hours=73))
    assert await scan(database, clock, directory) == 2, "CMHT and the GP registration; B answered"
    assert await scan(database, clock, directory) == 0, "once per deadline"
    clock.advance(datetime(2026, 12, 9, 1, 0, tzinfo=UTC) - clock.now())  # past 24 h before the release day
    assert await scan(database, clock, directory) == 2
    assert await scan(database, clock, directory) == 0
    found = [item for item, _ in await queries.escalations_with_facts(uow=uow(database, clock), handover_id="h")]
    assert sorted((item.agency_code, item.deadline) for item in found) == [
        ("A", "after_delivery"),
        ("A", "before_release"),
        ("CMHT", "after_delivery"),
        ("CMHT", "before_release"),
    ]
    assert {item.told for item in found} == {"HCC,REC"}
    notices = [
        d
        for d, _ in await queries.deliveries_of(uow=uow(database, clock), handover_id="h")
        if d.event_type == "handover.referral.escalated"
    ]
    assert sorted(d.agency_code for d in notices) == ["HCC"] * 2 + ["REC"] * 2, "one message per deadline"
    events = [event for event in await outbox(database) if event["type"].endswith("referral.escalated")]
    assert len(events) == 2
    for event in events:
        outstanding = event["data"]["outstanding"]  # type: ignore[index]
        assert sorted((item["agency_code"], item["item"]) for item in outstanding) == [
            ("A", "gp"),
            ("CMHT", "mental_health_referral"),
        ], "the message names every agency and item"


@pytest.mark.hazard("H22")
async def test_a_withdrawn_handover_does_not_escalate(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    for kind in (EventType.HANDOVER_PACK_ISSUED, EventType.HANDOVER_PACK_WITHDRAWN):
        pack: dict[str, object] = {
            "handover_id": "h",
            "pack": {"release": {"date": "2026-12-10", "establishment_code": "HHI"}},
        }
        await remember(database, clock, pack, kind)
    cmht = await add(database, directory, "CMHT", "A1234BC", T0)
    await finish(database, clock, directory, cmht, DeliveryStatus.DELIVERED)
    clock.advance(timedelta(days=30))
    assert await scan(database, clock, directory) == 0
