"""Starting a producer and stopping a consumer, whatever state the broker is in."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

log = structlog.get_logger(__name__)


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer. Stopping one whose broker went away can raise the CancelledError of its own inner
    tasks (aiokafka): unless this task itself is being cancelled, that must not end the consumer loop."""
    try:
        await asyncio.wait_for(consumer.stop(), timeout=15)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.warning("consumer.stop_interrupted")
    except Exception as error:  # noqa: BLE001 - it is being dropped; a fresh consumer takes over
        log.warning("consumer.stop_failed", error=type(error).__name__)


async def start_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """A producer that waits for every replica; idempotence is off (Tansu rejects InitProducerId) and
    exactly-once effects come from the outbox and the inbox instead."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=False, linger_ms=2)
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        try:
            await producer.start()
            return producer
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
