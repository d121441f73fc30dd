"""Publishing events straight onto a topic, in the format the outbox relay uses (structured CloudEvents, keyed by
the prison number), for events whose producer is not under test (amendments, withdrawals, answers)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from contracts.envelope import CloudEvent
from services.common.outbox import kafka_headers, outbox_message


async def _publish(bootstrap_servers: str, topic: str, events: list[CloudEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for event in events:
            message = outbox_message(topic, event, datetime.now(UTC))
            await producer.send_and_wait(
                topic, value=message.payload.encode(), key=message.key.encode(), headers=kafka_headers(message)
            )
    finally:
        await producer.stop()


def publish(bootstrap_servers: str, topic: str, *events: CloudEvent) -> None:
    """Publish ``events`` in order (one key keeps them on one partition, in order)."""
    asyncio.run(asyncio.wait_for(_publish(bootstrap_servers, topic, list(events)), 30))
