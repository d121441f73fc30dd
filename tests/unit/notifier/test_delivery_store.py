"""The notifier's use cases on a real (SQLite file) database, on a frozen clock: claiming in order and within
each endpoint's room, dead-lettering and replay, escalation once per deadline. Fast: no broker, no HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from contracts.answers import REFERRAL_ANSWERED_SCHEMA, Answer, ReferralAnsweredV1
from contracts.envelope import CloudEvent, EventType, new_event
from services.common.clock import FrozenClock
from services.common.db import Database
from services.common.outbox import OutboxMessage
from services.notifier.adapters.tables import Delivery, DeliveryStatus
from services.notifier.domain.agencies import Directory, load_directory
from services.notifier.domain.escalation_rules import Deadlines
from services.notifier.usecases import dead_letters
from services.notifier.usecases import deliveries as service
from services.notifier.usecases import endpoint_state as endpoints
from services.notifier.usecases import escalations as escalation
from services.notifier.usecases.endpoint_state import EndpointEffect
from services.notifier.usecases.notices import notice_delivery

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = Deadlines(after_delivery=timedelta(hours=72), before_release=timedelta(hours=24))


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    def agency(code: str, kind: str, **extra: object) -> dict[str, object]:
        return {
            "code": code,
            "kind": kind,
            "name": code,
            "contact_email": f"{code.lower()}@example.org",
            "webhook": {"url": f"http://127.0.0.1:9/{code}", "secret_ref": "literal:whsec_AA=="},
            **extra,
        }

    path = tmp_path / "directory.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "agencies": [
                    agency("A", "gp_practice"),
                    agency("B", "community_mental_health_team"),
                    agency("CMHT", "community_mental_health_team"),
                    agency("REC", "reconnect", coverage={"postcode_districts": ["TS1"]}),
                    agency("HCC", "prison_healthcare", establishments=["HHI"]),
                ]
            }
        )
    )
    return load_directory(path)


async def add(
    database: Database,
    directory: Directory,
    code: str,
    subject: str,
    now: datetime,
    handover_id: str = "h",
    webhook_type: str = "handover.pack.issued",
    data: dict[str, object] | None = None,
) -> Delivery:
    agency = directory.by_code(code)
    assert agency is not None
    delivery = notice_delivery(
        agency=agency,
        webhook_type=webhook_type,
        source_event_id=str(uuid.uuid4()),
        subject=subject,
        handover_id=handover_id,
        data=data or {},
        correlation_id=None,
        now=now,
    )
    async with database.transaction() as session:
        session.add(delivery)
    return delivery


async def claim(database: Database, clock: FrozenClock, **kwargs: object) -> list[str]:
    found = await service.claim_due(database=database, clock=clock, limit=100, lease_seconds=60, **kwargs)  # type: ignore[arg-type]
    return [delivery.webhook_id for delivery in found]


async def finish(
    database: Database,
    clock: FrozenClock,
    delivery: Delivery,
    status: DeliveryStatus,
    code: int = 204,
    kind: str | None = None,
) -> None:
    attempt = service.AttemptResult(code, 5, None, None)
    await service.record_attempt(
        database=database,
        delivery=delivery,
        attempts=[(clock.now(), attempt)],
        final_status=status,
        next_attempt_at=clock.now() + timedelta(minutes=5) if status == DeliveryStatus.PENDING else None,
        reason=None if status == DeliveryStatus.DELIVERED else f"HTTP {code}",
        clock=clock,
        source="urn:test",
        effects=service.RoundEffects(EndpointEffect.SUCCESS if code < 300 else EndpointEffect.FAILURE, kind),
    )


async def outbox(database: Database) -> list[dict[str, object]]:
    from sqlmodel import col, select

    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [json.loads(row.payload) for row in rows]


@pytest.mark.hazard("H26", "H43")
async def test_a_persons_later_message_waits_for_the_earlier_one_to_the_same_endpoint(
    database: Database, directory: Directory
) -> None:
    clock = FrozenClock(T0)
    first = await add(database, directory, "A", "A1234BC", T0)
    second = await add(database, directory, "A", "A1234BC", T0)
    other_person = await add(database, directory, "A", "B1234BC", T0)
    other_endpoint = await add(database, directory, "B", "A1234BC", T0)

    assert await claim(database, clock) == [first.webhook_id, other_person.webhook_id, other_endpoint.webhook_id]
    await finish(database, clock, first, DeliveryStatus.PENDING, 500)
    for done in (other_person, other_endpoint):
        await finish(database, clock, done, DeliveryStatus.DELIVERED)
    clock.advance(timedelta(minutes=10))
    assert await claim(database, clock) == [first.webhook_id], "the second waits while the first is pending"
    await finish(database, clock, first, DeliveryStatus.DEAD_LETTERED, 500)
    assert await claim(database, clock) == [], "dead-lettered: the next one still waits for it"
    assert await dead_letters.replay(database=database, clock=clock, actor="op", webhook_id=first.webhook_id) == [
        first.webhook_id
    ]
    assert await claim(database, clock) == [first.webhook_id], "the replay goes first, in its place"
    await finish(database, clock, first, DeliveryStatus.DELIVERED)
    assert await claim(database, clock) == [second.webhook_id], "delivered: the next one may go"


@pytest.mark.hazard("H30")
async def test_held_endpoints_and_room_limit_what_is_claimed(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    for person in range(5):
        await add(database, directory, "A", f"A{person:04d}BC", T0)
    b = await add(database, directory, "B", "A0000BC", T0)
    assert await claim(database, clock, held={"A"}) == [b.webhook_id]
    clock.advance(timedelta(minutes=5))  # the lease on B runs out; A gets at most two
    claimed = await claim(database, clock, capacity=lambda code: 2 if code == "A" else None)
    assert len(claimed) == 3 and b.webhook_id in claimed


@pytest.mark.hazard("H30")
async def test_a_paused_endpoint_is_not_claimed_until_resumed(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    delivery = await add(database, directory, "A", "A1234BC", T0)
    await endpoints.reactivate(database=database, clock=clock, agency_code="A", actor="op", pause=True)
    assert await claim(database, clock) == []
    await endpoints.reactivate(database=database, clock=clock, agency_code="A", actor="op")
    assert await claim(database, clock) == [delivery.webhook_id]
    trail = await dead_letters.audit_trail(database=database, agency_code="A")
    assert [item.action for item in trail] == ["endpoint_paused", "endpoint_resumed"]


@pytest.mark.hazard("H25")
async def test_failing_for_too_long_pauses_once_and_tells_the_prison(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    await escalation.remember_handover(
        database=database,
        clock=clock,
        event=CloudEvent(
            id="e1",
            source="s",
            type=EventType.HANDOVER_PACK_ISSUED.value,
            time=T0,
            subject="A1234BC",
            data={"handover_id": "h", "pack": {"release": {"date": "2026-12-10", "establishment_code": "HHI"}}},
        ),
    )
    delivery = await add(database, directory, "A", "A1234BC", T0)
    await finish(database, clock, delivery, DeliveryStatus.PENDING, 500)
    kwargs = {
        "database": database,
        "directory": directory,
        "clock": clock,
        "agency_code": "A",
        "after_seconds": 3600,
        "source": "urn:test",
    }
    assert not await endpoints.pause_if_failing_too_long(**kwargs)  # type: ignore[arg-type]
    clock.advance(timedelta(hours=2))
    assert await endpoints.pause_if_failing_too_long(**kwargs)  # type: ignore[arg-type]
    assert not await endpoints.pause_if_failing_too_long(**kwargs), "once"  # type: ignore[arg-type]
    events = [event for event in await outbox(database) if event["type"].endswith("endpoint.paused")]  # type: ignore[union-attr]
    assert len(events) == 1
    assert events[0]["data"]["owner_contact"] == "a@example.org"  # type: ignore[index]
    assert events[0]["data"]["establishments_told"] == ["HHI"]  # type: ignore[index]
    told = await service.deliveries_of(database=database, handover_id="h")
    assert [(d.agency_code, d.event_type) for d, _ in told] == [
        ("A", "handover.pack.issued"),
        ("HCC", "endpoint.paused"),
    ]


@pytest.mark.hazard("H25")
async def test_a_replayed_dead_letter_keeps_its_id_starts_again_and_is_audited(
    database: Database, directory: Directory
) -> None:
    clock = FrozenClock(T0)
    delivery = await add(database, directory, "A", "A1234BC", T0)
    await finish(database, clock, delivery, DeliveryStatus.DEAD_LETTERED, 500)
    [dead] = await dead_letters.list_dead_letters(database=database, agency_code="A")
    assert dead.webhook_id == delivery.webhook_id
    assert (
        await dead_letters.replay(
            database=database, clock=clock, actor="op", agency_code="A", since=T0 + timedelta(days=1)
        )
        == []
    )
    assert await dead_letters.replay(database=database, clock=clock, actor="op", webhook_id=delivery.webhook_id) == [
        delivery.webhook_id
    ]
    assert (
        await dead_letters.replay(database=database, clock=clock, actor="op", webhook_id=delivery.webhook_id) == []
    ), "only dead letters are replayed"
    found = await service.delivery_by_webhook_id(database=database, webhook_id=delivery.webhook_id)
    assert found is not None
    again, _ = found
    assert again.status == DeliveryStatus.PENDING and again.rounds == 0 and again.replays == 1
    await finish(database, clock, again, DeliveryStatus.DELIVERED)
    trail = await dead_letters.audit_trail(database=database, webhook_id=delivery.webhook_id)
    assert [item.action for item in trail] == ["delivery_replayed", "replay_delivered"]
    assert trail[0].actor == "op"
    kinds = [event["type"] for event in await outbox(database)]
    assert kinds == [EventType.DELIVERY_DEAD_LETTERED.value, EventType.DELIVERY_SUCCEEDED.value]


@pytest.mark.hazard("H27", "H48")
async def test_an_unanswered_referral_escalates_once_per_deadline_and_an_answer_stops_it(
    database: Database, directory: Directory
) -> None:
    clock = FrozenClock(T0)
    release = date(2026, 12, 10)
    await escalation.remember_handover(
        database=database,
        clock=clock,
        event=CloudEvent(
            id="e1",
            source="s",
            type=EventType.HANDOVER_PACK_ISSUED.value,
            time=T0,
            subject="A1234BC",
            data={
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
            },
        ),
    )
    cmht = await add(database, directory, "CMHT", "A1234BC", T0)
    gp = await add(
        database, directory, "A", "A1234BC", T0, data={"pack": {"gp_practice": {"registration_needed": True}}}
    )
    b = await add(database, directory, "B", "A1234BC", T0)
    for delivery, kind in (
        (cmht, "community_mental_health_team"),
        (gp, "gp_practice"),
        (b, "community_mental_health_team"),
    ):
        await finish(database, clock, delivery, DeliveryStatus.DELIVERED, kind=kind)
    answer = ReferralAnsweredV1(handover_id="h", agency_code="B", answer=Answer.ACCEPTED, answered_at=T0)
    await escalation.record_answer(
        database=database,
        clock=clock,
        event=new_event(
            type=EventType.REFERRAL_ANSWERED,
            source="s",
            subject="A1234BC",
            dataschema=REFERRAL_ANSWERED_SCHEMA,
            data=answer,
            correlation_id=None,
        ),
    )
    received = ReferralAnsweredV1(handover_id="h", agency_code="A", answer=Answer.RECEIVED, answered_at=T0)
    await escalation.record_answer(
        database=database,
        clock=clock,
        event=new_event(
            type=EventType.REFERRAL_ANSWERED,
            source="s",
            subject="A1234BC",
            dataschema=REFERRAL_ANSWERED_SCHEMA,
            data=received,
            correlation_id=None,
        ),
    )

    async def scan() -> int:
        return await escalation.escalate_due(
            database=database, directory=directory, clock=clock, rules=RULES, source="urn:test"
        )

    assert await scan() == 0
    clock.advance(timedelta(hours=73))
    assert await scan() == 2, "CMHT and the GP registration; B answered"
    assert await scan() == 0, "once per deadline"
    clock.advance(datetime(2026, 12, 9, 1, 0, tzinfo=UTC) - clock.now())  # past 24 h before the release day
    assert await scan() == 2
    assert await scan() == 0
    found = await escalation.escalations_of(database=database, handover_id="h")
    assert sorted((item.agency_code, item.deadline) for item in found) == [
        ("A", "after_delivery"),
        ("A", "before_release"),
        ("CMHT", "after_delivery"),
        ("CMHT", "before_release"),
    ]
    assert {item.told for item in found} == {"HCC,REC"}
    notices = [
        d
        for d, _ in await service.deliveries_of(database=database, handover_id="h")
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
        await escalation.remember_handover(
            database=database,
            clock=clock,
            event=CloudEvent(
                id=str(uuid.uuid4()),
                source="s",
                type=kind.value,
                time=T0,
                subject="A1234BC",
                data={"handover_id": "h", "pack": {"release": {"date": "2026-12-10", "establishment_code": "HHI"}}},
            ),
        )
    cmht = await add(database, directory, "CMHT", "A1234BC", T0)
    await finish(database, clock, cmht, DeliveryStatus.DELIVERED, kind="community_mental_health_team")
    clock.advance(timedelta(days=30))
    assert (
        await escalation.escalate_due(
            database=database, directory=directory, clock=clock, rules=RULES, source="urn:test"
        )
        == 0
    )
