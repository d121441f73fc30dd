"""Dead-lettering: a record a consumer can never apply goes, unchanged, to its topic's dead-letter topic, with
headers saying why, where it came from and which group refused it, so that it stays visible to an operator
(and countable, ``ttg_consumer_dead_letters_total``) while the partition moves on."""

from __future__ import annotations

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord

from services.common.metrics import CONSUMER_DEAD_LETTERS
from services.common.topics import dead_letter_topic

log = structlog.get_logger(__name__)


async def publish_dead_letter(
    producer: AIOKafkaProducer, record: ConsumerRecord[bytes, bytes], error: BaseException, *, group_id: str
) -> None:
    reason = f"{type(error).__name__}: {error}"[:1000]
    headers = [
        *(record.headers or ()),
        ("dlt-reason", reason.encode()),
        ("dlt-original-topic", record.topic.encode()),
        ("dlt-original-partition", str(record.partition).encode()),
        ("dlt-original-offset", str(record.offset).encode()),
        ("dlt-consumer-group", group_id.encode()),
    ]
    await producer.send_and_wait(dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers)
    CONSUMER_DEAD_LETTERS.labels(record.topic).inc()
    log.warning(
        "consumer.dead_lettered",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error=type(error).__name__,
    )
