"""The topics of the system and their creation. ``deploy/topics.yaml`` lists the same for operators."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

log = structlog.get_logger(__name__)

CUSTODY_EVENTS = "custody.events.v1"
HANDOVER_EVENTS = "handover.events.v1"
DELIVERY_EVENTS = "delivery.events.v1"
# Keyed by agency code, not prison number: each record is an agency's whole current entry, so the topic is
# compacted (the last record per agency is kept for ever) and a new consumer rebuilds the directory from it.
DIRECTORY_EVENTS = "directory.events.v1"
ALL_TOPICS = (CUSTODY_EVENTS, HANDOVER_EVENTS, DELIVERY_EVENTS, DIRECTORY_EVENTS)
TOPIC_CONFIGS: dict[str, dict[str, str]] = {DIRECTORY_EVENTS: {"cleanup.policy": "compact"}}


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlt"


async def ensure_topics(bootstrap_servers: str, topics: list[str], partitions: int, timeout: float = 30.0) -> None:
    """Create the topics that do not exist yet (with their dead-letter topics); existing ones are left."""
    wanted = [name for topic in topics for name in (topic, dead_letter_topic(topic))]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if missing:
                try:
                    await admin.create_topics(
                        [
                            NewTopic(
                                name,
                                num_partitions=partitions,
                                replication_factor=1,
                                topic_configs=TOPIC_CONFIGS.get(name, {}),
                            )
                            for name in missing
                        ]
                    )
                except TopicAlreadyExistsError:
                    pass
                log.info("topics.created", topics=missing, partitions=partitions)
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
        finally:
            await admin.close()
