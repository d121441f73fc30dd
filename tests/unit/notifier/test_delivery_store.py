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
from services.notifier.adapters.directory_file import load_directory
from services.notifier.adapters.tables import Delivery
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.domain.agencies import Directory
from services.notifier.domain.escalation_rules import Deadlines
from services.notifier.domain.states import DeliveryStatus
from services.notifier.domain.verdict import AttemptResult, RetryPolicy, RoundVerdict
from services.notifier.usecases import dead_letters, queries
from services.notifier.usecases.dispatch_round import claim_due, record_round
from services.notifier.usecases.endpoint_control import set_endpoint_status
from services.notifier.usecases.escalations import escalate_due
from services.notifier.usecases.new_deliveries import new_delivery
from services.notifier.usecases.plan_deliveries import remember_handover
from services.notifier.usecases.watches import record_answer

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


def uow(database: Database, clock: FrozenClock) -> NotifierUnitOfWork:
    return NotifierUnitOfWork(database, clock)


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
    assert directory.by_code(code) is not None
    delivery = new_delivery(
        agency_code=code,
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
    found = await claim_due(uow=uow(database, clock), now=clock.now(), limit=100, lease_seconds=60, **kwargs)  # type: ignore[arg-type]
    return [delivery.webhook_id for delivery in found]


# A schedule that is spent at once dead-letters the first failure; a long one schedules a retry.
SPENT = RetryPolicy(schedule=[], pause_after=timedelta(hours=1))
LONG = RetryPolicy(schedule=[0.0] + [300.0] * 9, pause_after=timedelta(hours=1))


async def finish(
    database: Database,
    clock: FrozenClock,
    directory: Directory,
    delivery: Delivery,
    status: DeliveryStatus,
    code: int = 204,
) -> RoundVerdict:
    """Record a round answered with ``code`` and check that it ends as ``status``."""
    verdict = await record_round(
        uow=uow(database, clock),
        delivery=delivery,
        agency=directory.by_code(delivery.agency_code),
        directory=directory,
        attempts=[(clock.now(), AttemptResult(code, 5, None, None))],
        retry_after=None,
        policy=SPENT if status == DeliveryStatus.DEAD_LETTERED else LONG,
        now=clock.now(),
        source="urn:test",
    )
    assert verdict.status == status
    return verdict


async def replay(database: Database, clock: FrozenClock, **which: str | datetime) -> list[str]:
    return await dead_letters.replay(uow=uow(database, clock), actor="op", now=clock.now(), **which)  # type: ignore[arg-type]


async def remember(*, database: Database, clock: FrozenClock, event: CloudEvent) -> None:
    async with uow(database, clock) as unit:
        await remember_handover(unit, event=event, handover_id=str(event.data["handover_id"]), now=clock.now())


async def scan(database: Database, clock: FrozenClock, directory: Directory) -> int:
    return await escalate_due(
        new_uow=lambda: uow(database, clock), directory=directory, rules=RULES, now=clock.now(), source="urn:test"
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
    await finish(database, clock, directory, first, DeliveryStatus.PENDING, 500)
    for done in (other_person, other_endpoint):
        await finish(database, clock, directory, done, DeliveryStatus.DELIVERED)
    clock.advance(timedelta(minutes=10))
    assert await claim(database, clock) == [first.webhook_id], "the second waits while the first is pending"
    await finish(database, clock, directory, first, DeliveryStatus.DEAD_LETTERED, 500)
    assert await claim(database, clock) == [], "dead-lettered: the next one still waits for it"
    assert await replay(database, clock, webhook_id=first.webhook_id) == [first.webhook_id]
    assert await claim(database, clock) == [first.webhook_id], "the replay goes first, in its place"
    await finish(database, clock, directory, first, DeliveryStatus.DELIVERED)
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
    await set_endpoint_status(uow=uow(database, clock), agency_code="A", actor="op", now=clock.now(), pause=True)
    assert await claim(database, clock) == []
    await set_endpoint_status(uow=uow(database, clock), agency_code="A", actor="op", now=clock.now())
    assert await claim(database, clock) == [delivery.webhook_id]
    trail = await queries.delivery_audit(uow=uow(database, clock), agency_code="A")
    assert [item.action for item in trail] == ["endpoint_paused", "endpoint_resumed"]


@pytest.mark.hazard("H25")
async def test_failing_for_too_long_pauses_once_and_tells_the_prison(database: Database, directory: Directory) -> None:
    clock = FrozenClock(T0)
    await remember(
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
    first = await finish(database, clock, directory, delivery, DeliveryStatus.PENDING, 500)
    assert not first.pause_endpoint, "failing since now: not for too long yet"
    clock.advance(timedelta(hours=2))
    assert (await finish(database, clock, directory, delivery, DeliveryStatus.PENDING, 500)).pause_endpoint
    assert not (await finish(database, clock, directory, delivery, DeliveryStatus.PENDING, 500)).pause_endpoint, "once"
    events = [event for event in await outbox(database) if event["type"].endswith("endpoint.paused")]  # type: ignore[union-attr]
    assert len(events) == 1
    assert events[0]["data"]["owner_contact"] == "a@example.org"  # type: ignore[index]
    assert events[0]["data"]["establishments_told"] == ["HHI"]  # type: ignore[index]
    told = await queries.deliveries_of(uow=uow(database, clock), handover_id="h")
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
    await finish(database, clock, directory, delivery, DeliveryStatus.DEAD_LETTERED, 500)
    [dead] = await queries.dead_letters(uow=uow(database, clock), agency_code="A")
    assert dead.webhook_id == delivery.webhook_id
    assert await replay(database, clock, agency_code="A", since=T0 + timedelta(days=1)) == []
    assert await replay(database, clock, webhook_id=delivery.webhook_id) == [delivery.webhook_id]
    assert await replay(database, clock, webhook_id=delivery.webhook_id) == [], "only dead letters are replayed"
    found = await queries.delivery_by_webhook_id(uow=uow(database, clock), webhook_id=delivery.webhook_id)
    assert found is not None
    again, _ = found
    assert again.status == DeliveryStatus.PENDING and again.rounds == 0 and again.replays == 1
    await finish(database, clock, directory, again, DeliveryStatus.DELIVERED)
    trail = await queries.delivery_audit(uow=uow(database, clock), webhook_id=delivery.webhook_id)
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
    await remember(
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
    for delivery in (cmht, gp, b):  # the directory says their kinds: two CMHTs and a GP practice
        await finish(database, clock, directory, delivery, DeliveryStatus.DELIVERED)
    answer = ReferralAnsweredV1(handover_id="h", agency_code="B", answer=Answer.ACCEPTED, answered_at=T0)
    await record_answer(
        uow=uow(database, clock),
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
    await record_answer(
        uow=uow(database, clock),
        event=new_event(
            type=EventType.REFERRAL_ANSWERED,
            source="s",
            subject="A1234BC",
            dataschema=REFERRAL_ANSWERED_SCHEMA,
            data=received,
            correlation_id=None,
        ),
    )

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
        await remember(
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
    await finish(database, clock, directory, cmht, DeliveryStatus.DELIVERED)
    clock.advance(timedelta(days=30))
    assert await scan(database, clock, directory) == 0
