"""Reading a topic as it stands, from the first offset to the end, without joining a consumer group."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


async def _read_all(bootstrap_servers: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            await consumer.client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, items in batch.items():
                records.extend(items)
                if items and items[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def read_topic_async(
    bootstrap_servers: str, topic: str, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on ``topic`` up to its end offsets at the time of the call."""
    return await asyncio.wait_for(_read_all(bootstrap_servers, topic), timeout)


def read_topic(bootstrap_servers: str, topic: str, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
    """:func:`read_topic_async` for tests that do not run an event loop."""
    return asyncio.run(read_topic_async(bootstrap_servers, topic, timeout))


async def group_has_read_everything(bootstrap_servers: str, group: str, topic: str) -> bool:
    """Whether consumer group ``group`` has committed offsets up to the end of every partition of ``topic``."""
    # A consumer of the group that never subscribes: it reads the group's committed offsets without joining.
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or [])]
        ends = await reader.end_offsets(partitions) if partitions else {}
        for partition, end in ends.items():
            if end and (await reader.committed(partition) or 0) < end:
                return False
        return bool(ends)
    finally:
        await reader.stop()
