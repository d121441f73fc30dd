"""A consumer applying a poll's events in groups, each group one transaction (H93), on the embedded broker and
SQLite / PostgreSQL, all or nothing as the services group them (``Database.batch_all_or_nothing``): a poison
event inside a group spoils it, the group is applied again event by event, the poison is dead-lettered and each
neighbour applied once; a transient failure or a handler asking for its own transaction redoes the group event
by event; a crash between a group's commit and its offset commit applies nothing twice; a run of events goes to
its batch handler at once, and when that fails (a poison among them) the group is applied event by event."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from contracts.envelope import CloudEvent, EventType, new_event
from services.common.consumer import ApplyAlone, EventConsumer, in_shared_transaction
from services.common.db import Database
from services.common.inbox import first_delivery
from services.common.kafka_clients import start_producer
from services.common.topics import dead_letter_topic, ensure_topics
from tests.conftest import BACKENDS
from tests.support.kafka import read_topic_async
from tests.support.scratch_db import migrated_database_url
from ttg.broker import EmbeddedBroker

HANDOVER_MIGRATIONS = Path("services/handover/migrations")
EFFECTS = Table(
    "test_consumer_effect", MetaData(), Column("event_id", String(64), nullable=False), Column("n", Integer)
)
Fail = Callable[[CloudEvent, int], Awaitable[None]]


class Numbered(BaseModel):
    n: int


class Crash(BaseException):
    """The process dies: nothing after this point runs (not an Exception, so no handler catches it)."""


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    with migrated_database_url(request.param, tmp_path, HANDOVER_MIGRATIONS, "groups") as url:
        db = Database(url)
        async with db.engine.begin() as connection:
            await connection.run_sync(EFFECTS.create)
        yield db
        await db.dispose()


@pytest.fixture
async def producer(broker: EmbeddedBroker) -> AsyncIterator[AIOKafkaProducer]:
    started = await start_producer(broker.bootstrap_servers)
    yield started
    await started.stop()


def numbered(n: int) -> CloudEvent:
    return new_event(
        type=EventType.RELEASE_NOTICE_SUBMITTED,
        source="urn:test",
        subject="A1234BC",
        dataschema="urn:ttg:schema:numbered:1.0",
        data=Numbered(n=n),
        correlation_id=None,
    )


async def send(producer: AIOKafkaProducer, topic: str, events: list[CloudEvent]) -> None:
    for item in events:
        await producer.send_and_wait(topic, item.to_json_bytes(), key=b"A1234BC")


async def topic_holding(
    broker: EmbeddedBroker, producer: AIOKafkaProducer, name: str, count: int
) -> tuple[str, list[CloudEvent]]:
    """A fresh one-partition topic holding ``count`` numbered events about one person, in order."""
    topic = f"it.groups.{name}.{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    events = [numbered(n) for n in range(count)]
    await send(producer, topic, events)
    return topic, events


def all_applied(database: Database, count: int) -> Callable[[], Awaitable[bool]]:
    async def done() -> bool:
        return sum((await effects(database)).values()) >= count

    return done


async def never(_: CloudEvent, __: int) -> None:
    """A handler's work that always succeeds."""


def applying(database: Database, fail: Fail, tries: Counter[str]) -> Callable[[CloudEvent], Awaitable[None]]:
    """A handler whose effect is one row per application (no unique key: a second application would show);
    ``fail`` may raise after the effect is written, so the effect must then be undone."""

    async def handle(received: CloudEvent) -> None:
        tries[received.id] += 1
        async with database.transaction() as session:
            if not await first_delivery(session, event_id=received.id, event_type=received.type, now=datetime.now(UTC)):
                return
            await session.execute(insert(EFFECTS).values(event_id=received.id, n=received.data["n"]))
            await fail(received, tries[received.id])

    return handle


def consumer_of(
    broker: EmbeddedBroker,
    topic: str,
    group: str,
    database: Database,
    handler: Callable[[CloudEvent], Awaitable[None]],
    producer: AIOKafkaProducer,
    after_commit: Callable[[], None] | None = None,
    group_seconds: float = 30.0,
    batch_handler: Callable[[Sequence[CloudEvent]], Awaitable[None]] | None = None,
) -> EventConsumer:
    return EventConsumer(
        bootstrap_servers=broker.bootstrap_servers,
        topics=[topic],
        group_id=group,
        handlers={EventType.RELEASE_NOTICE_SUBMITTED: handler},
        supported_major_versions={EventType.RELEASE_NOTICE_SUBMITTED: 1},
        producer=producer,
        transaction=database.batch_all_or_nothing,
        events_per_transaction=50,
        group_seconds=group_seconds,
        # A member joining a group on Tansu waits about half the session timeout: short, so the test is quick.
        session_timeout_ms=4_000,
        heartbeat_interval_ms=1_000,
        after_commit=after_commit,
        batch_handlers={EventType.RELEASE_NOTICE_SUBMITTED: batch_handler} if batch_handler else None,
    )


async def effects(database: Database) -> Counter[str]:
    async with database.session() as session:
        rows = (await session.execute(select(EFFECTS.c.event_id, func.count()).group_by(EFFECTS.c.event_id))).all()
    return Counter({str(event_id): int(count) for event_id, count in rows})


async def run_until(consumer: EventConsumer, done: Callable[[], Awaitable[bool]]) -> None:
    task = asyncio.create_task(consumer.run())
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not await done():
            assert not task.done(), task.exception() if not task.cancelled() else "cancelled"
            assert asyncio.get_running_loop().time() < deadline, "the consumer did not get there within 30 s"
            await asyncio.sleep(0.05)  # poll: the consumer runs in this loop
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def counting_commits(database: Database) -> list[int]:
    commits: list[int] = []
    event.listen(database.engine.sync_engine, "commit", lambda _connection: commits.append(1))
    return commits


@pytest.mark.hazard("H93")
async def test_a_poison_event_in_a_group_is_dead_lettered_and_each_neighbour_is_applied_once(
    broker: EmbeddedBroker, database: Database, producer: AIOKafkaProducer
) -> None:
    topic = f"it.groups.poison.{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    events = [numbered(n) for n in range(6)]
    await send(producer, topic, events[:3])
    await producer.send_and_wait(topic, b"{not json", key=b"A1234BC")
    await send(producer, topic, events[3:])

    async def refuse_two(received: CloudEvent, _: int) -> None:
        if received.data["n"] == 2:
            raise ValueError("a rule refuses this event for good")

    tries: Counter[str] = Counter()
    commits = counting_commits(database)
    consumer = consumer_of(broker, topic, "it-groups", database, applying(database, refuse_two, tries), producer)

    dead: list[ConsumerRecord[bytes, bytes]] = []

    good = {item.id for item in events if item.data["n"] != 2}

    async def both_dead_lettered_and_the_rest_applied() -> bool:
        # The dead letters go out after their group's commit; the events after the poison may be in a later
        # poll, still applying when both dead letters are there (it failed CI so).
        dead[:] = await read_topic_async(broker.bootstrap_servers, dead_letter_topic(topic))
        return len(dead) >= 2 and good <= set(await effects(database))

    await run_until(consumer, both_dead_lettered_and_the_rest_applied)

    applied = await effects(database)
    assert applied == Counter({item.id: 1 for item in events if item.data["n"] != 2})  # the poison's effect undone
    # In the group (which it spoils, so nothing of the group is committed), then alone, where it is refused for
    # good at once: never retried.
    assert tries[events[2].id] == 2
    # At most one commit per good event (the spoiled group's events alone); fewer when a later poll was grouped.
    assert 1 <= len(commits) <= 5, f"{len(commits)} commits for five good events"
    reasons = sorted(dict(record.headers)["dlt-reason"].decode().split(":")[0] for record in dead)
    assert reasons == ["JSONDecodeError", "ValueError"] or reasons == ["ValidationError", "ValueError"]


@pytest.mark.hazard("H93")
async def test_a_transient_failure_inside_a_group_redoes_it_event_by_event_and_applies_each_once(
    broker: EmbeddedBroker, database: Database, producer: AIOKafkaProducer
) -> None:
    topic, events = await topic_holding(broker, producer, "transient", 5)

    async def database_away_once(received: CloudEvent, attempt: int) -> None:
        if received.data["n"] == 3 and attempt == 1:
            raise OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly"))

    tries: Counter[str] = Counter()
    consumer = consumer_of(
        broker, topic, "it-groups", database, applying(database, database_away_once, tries), producer
    )

    with capture_logs() as logs:
        await run_until(consumer, all_applied(database, len(events)))

    assert await effects(database) == Counter({item.id: 1 for item in events})
    assert [tries[item.id] for item in events] == [2, 2, 2, 2, 1]  # the group up to the failure, then each alone
    redone = [line for line in logs if line["event"] == "consumer.group_redone_alone"]
    assert len(redone) == 1 and "OperationalError" in redone[0]["reason"]
    assert await read_topic_async(broker.bootstrap_servers, dead_letter_topic(topic)) == []


@pytest.mark.hazard("H93")
async def test_a_handler_that_must_not_share_a_transaction_gets_one_of_its_own(
    broker: EmbeddedBroker, database: Database, producer: AIOKafkaProducer
) -> None:
    topic, events = await topic_holding(broker, producer, "alone", 3)
    shared: list[bool] = []

    async def alone_for_one(received: CloudEvent, _: int) -> None:
        shared.append(in_shared_transaction())
        if received.data["n"] == 1 and in_shared_transaction():
            raise ApplyAlone("waits for another transaction")

    tries: Counter[str] = Counter()
    consumer = consumer_of(broker, topic, "it-groups", database, applying(database, alone_for_one, tries), producer)

    await run_until(consumer, all_applied(database, len(events)))

    assert await effects(database) == Counter({item.id: 1 for item in events})
    assert shared == [True, True, False, False, False]


@pytest.mark.hazard("H93")
async def test_a_crash_between_a_groups_commit_and_its_offset_commit_applies_nothing_twice(
    broker: EmbeddedBroker, database: Database, producer: AIOKafkaProducer
) -> None:
    topic, events = await topic_holding(broker, producer, "crash", 8)
    group = f"it-groups-{uuid.uuid4().hex[:6]}"
    tries: Counter[str] = Counter()

    def die() -> None:
        raise Crash("killed after the group committed, before its offsets were")

    first = consumer_of(broker, topic, group, database, applying(database, never, tries), producer, after_commit=die)
    with pytest.raises(Crash):
        async with asyncio.timeout(30):
            await first.run()
    assert await effects(database) == Counter({item.id: 1 for item in events})

    tries.clear()
    second = consumer_of(broker, topic, group, database, applying(database, never, tries), producer)

    async def all_read_again() -> bool:
        return len(tries) == len(events)

    await run_until(second, all_read_again)
    assert await effects(database) == Counter({item.id: 1 for item in events})  # the inbox refused the repeats


@pytest.mark.hazard("H93")
async def test_a_group_ends_once_it_has_held_its_transaction_long_enough_and_the_rest_follow(
    broker: EmbeddedBroker, database: Database, producer: AIOKafkaProducer
) -> None:
    topic, events = await topic_holding(broker, producer, "time", 5)

    tries: Counter[str] = Counter()
    commits = counting_commits(database)
    # A group's time is up after its first event: each event commits in a group of its own.
    consumer = consumer_of(
        broker, topic, "it-groups", database, applying(database, never, tries), producer, group_seconds=1e-9
    )

    await run_until(consumer, all_applied(database, len(events)))

    assert await effects(database) == Counter({item.id: 1 for item in events})
    assert len(commits) == len(events)


def applying_together(
    database: Database, calls: list[list[int]], poison: int | None = None
) -> Callable[[Sequence[CloudEvent]], Awaitable[None]]:
    """A batch handler with the effects of ``applying`` on each event, written per table; it raises on ``poison``
    after writing the run, so the run must then be undone."""

    async def handle(received: Sequence[CloudEvent]) -> None:
        calls.append([item.data["n"] for item in received])
        async with database.transaction() as session:
            statement = insert(EFFECTS)
            rows = [{"event_id": item.id, "n": item.data["n"]} for item in received]
            await session.execute(statement, rows)
            if poison is not None and poison in calls[-1]:
                raise ValueError("a rule refuses one event of the run for good")

    return handle


@pytest.mark.hazard("H93")
async def test_a_run_of_events_goes_to_the_batch_handler_at_once_and_each_is_applied_once(
    broker: EmbeddedBroker, database: Database, producer: AIOKafkaProducer
) -> None:
    topic, events = await topic_holding(broker, producer, "batched", 6)
    tries: Counter[str] = Counter()
    calls: list[list[int]] = []
    consumer = consumer_of(
        broker,
        topic,
        "it-groups",
        database,
        applying(database, never, tries),
        producer,
        batch_handler=applying_together(database, calls),
    )

    await run_until(consumer, all_applied(database, len(events)))

    assert await effects(database) == Counter({item.id: 1 for item in events})
    assert [n for call in calls for n in call] == list(range(6)), "every event, in order, through the batch"
    assert max(len(call) for call in calls) > 1, "events of one poll together"
    assert not tries, "the one-by-one handler was never needed"


@pytest.mark.hazard("H93")
async def test_a_poison_event_in_a_run_undoes_the_run_and_the_group_is_applied_event_by_event(
    broker: EmbeddedBroker, database: Database, producer: AIOKafkaProducer
) -> None:
    topic, events = await topic_holding(broker, producer, "batched-poison", 6)

    async def refuse_four(received: CloudEvent, _: int) -> None:
        if received.data["n"] == 4:
            raise ValueError("a rule refuses this event for good")

    tries: Counter[str] = Counter()
    calls: list[list[int]] = []
    consumer = consumer_of(
        broker,
        topic,
        "it-groups",
        database,
        applying(database, refuse_four, tries),
        producer,
        batch_handler=applying_together(database, calls, poison=4),
    )
    good = {item.id for item in events if item.data["n"] != 4}
    dead: list[ConsumerRecord[bytes, bytes]] = []

    async def poison_dead_lettered_and_the_rest_applied() -> bool:
        dead[:] = await read_topic_async(broker.bootstrap_servers, dead_letter_topic(topic))
        return len(dead) >= 1 and good <= set(await effects(database))

    with capture_logs() as logs:
        await run_until(consumer, poison_dead_lettered_and_the_rest_applied)

    assert await effects(database) == Counter(dict.fromkeys(good, 1)), "the failed run left nothing"
    assert any(4 in call for call in calls)
    assert tries[events[4].id] == 1, "refused for good alone, never retried"
    assert [dict(record.headers)["dlt-reason"].decode().split(":")[0] for record in dead] == ["ValueError"]
    redone = [line for line in logs if line["event"] == "consumer.group_redone_alone"]
    assert redone and "ValueError in a run" in redone[0]["reason"]
