"""The messaging building blocks on real parts: outbox relay, idempotent inbox and the dead-lettering
consumer, against the embedded broker and SQLite / PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlmodel import col, select, update

from contracts.envelope import CloudEvent, EventType, new_event
from services.common.clock import SystemClock
from services.common.consumer import EventConsumer
from services.common.db import Database
from services.common.inbox import first_delivery
from services.common.kafka_clients import start_producer
from services.common.outbox import OutboxMessage, add_to_outbox
from services.common.outbox_relay import OutboxRelay
from services.common.topics import dead_letter_topic, ensure_topics
from tests.support.kafka import read_topic_async
from ttg.broker import EmbeddedBroker

HANDOVER_MIGRATIONS = Path("services/handover/migrations")


class Ping(BaseModel):
    n: int


@pytest.fixture
def database(handover_database: Database) -> Database:
    return handover_database


def ping(subject: str, n: int, dataschema: str = "urn:ttg:schema:ping:1.0") -> CloudEvent:
    return new_event(
        type=EventType.RELEASE_NOTICE_SUBMITTED,
        source="urn:test",
        subject=subject,
        dataschema=dataschema,
        data=Ping(n=n),
        correlation_id=None,
    )


async def test_relay_publishes_committed_events_in_order_per_person(broker: EmbeddedBroker, database: Database) -> None:
    topic = f"it.outbox.{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=3)
    clock = SystemClock()
    people = [f"A{n:04d}BC" for n in range(5)]
    for n in range(30):
        async with database.transaction() as session:
            add_to_outbox(session, topic=topic, event=ping(people[n % 5], n), clock=clock)
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            add_to_outbox(session, topic=topic, event=ping("Z9999ZZ", 999), clock=clock)
            raise RuntimeError("the change failed, so its event must not be published")

    producer = await start_producer(broker.bootstrap_servers)
    try:
        relay = OutboxRelay(database=database, producer=producer, batch_size=7)
        while await relay.publish_pending():
            pass
    finally:
        await producer.stop()

    records = await read_topic_async(broker.bootstrap_servers, topic)
    assert len(records) == 30
    for person in people:
        sequence = [json.loads(r.value)["data"]["n"] for r in records if r.key == person.encode()]
        assert sequence == sorted(sequence) and len(sequence) == 6
    async with database.session() as session:
        unpublished = await session.exec(select(OutboxMessage).where(col(OutboxMessage.published_at).is_(None)))
        assert unpublished.all() == []


async def test_a_republished_event_is_applied_once_through_the_inbox(
    broker: EmbeddedBroker, database: Database
) -> None:
    topic = f"it.replay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    clock = SystemClock()
    event = ping("A1111AA", 1)
    async with database.transaction() as session:
        add_to_outbox(session, topic=topic, event=event, clock=clock)
    producer = await start_producer(broker.bootstrap_servers)
    try:
        relay = OutboxRelay(database=database, producer=producer)
        await relay.publish_pending()
        # The relay died after publishing but before its mark was stored: it publishes again.
        async with database.transaction() as session:
            await session.exec(update(OutboxMessage).values(published_at=None))  # type: ignore[call-overload]
        await relay.publish_pending()
    finally:
        await producer.stop()
    records = await read_topic_async(broker.bootstrap_servers, topic)
    assert [json.loads(r.value)["id"] for r in records] == [event.id, event.id]

    applied = []
    for record in records:
        received = CloudEvent.model_validate_json(record.value)
        async with database.transaction() as session:
            if await first_delivery(session, event_id=received.id, event_type=received.type, now=datetime.now(UTC)):
                applied.append(received.id)
    assert applied == [event.id]


async def test_poison_messages_are_dead_lettered_and_the_partition_moves_on(broker: EmbeddedBroker) -> None:
    topic = f"it.poison.{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    producer = await start_producer(broker.bootstrap_servers)
    good = ping("A2222AA", 2)
    try:
        await producer.send_and_wait(topic, b"{not json", key=b"A2222AA")
        await producer.send_and_wait(
            topic, ping("A2222AA", 1, "urn:ttg:schema:ping:2.0").to_json_bytes(), key=b"A2222AA"
        )
        await producer.send_and_wait(topic, good.to_json_bytes(), key=b"A2222AA")
        handled: list[str] = []

        async def handler(event: CloudEvent) -> None:
            handled.append(event.id)

        consumer = EventConsumer(
            bootstrap_servers=broker.bootstrap_servers,
            topics=[topic],
            group_id=f"it-{uuid.uuid4().hex[:6]}",
            handlers={EventType.RELEASE_NOTICE_SUBMITTED: handler},
            supported_major_versions={EventType.RELEASE_NOTICE_SUBMITTED: 1},
            producer=producer,
        )
        task = asyncio.create_task(consumer.run())
        try:
            async with asyncio.timeout(30):
                while not handled:
                    await asyncio.sleep(0.05)  # poll: the consumer runs in this loop
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await producer.stop()
    assert handled == [good.id]
    dead = await read_topic_async(broker.bootstrap_servers, dead_letter_topic(topic))
    reasons = [dict(r.headers)["dlt-reason"].decode() for r in dead]
    assert len(dead) == 2
    assert "JSONDecodeError" in reasons[0] or "ValidationError" in reasons[0]
    assert "only major 1" in reasons[1]
    assert all(dict(r.headers)["dlt-original-topic"] == topic.encode() for r in dead)
