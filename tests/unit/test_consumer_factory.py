"""Every service builds its consumers from its settings the same way."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.envelope import CloudEvent
from services.common.consumer_factory import build_event_consumer


@dataclass
class Settings:
    kafka_bootstrap_servers: str = "broker:9092"
    consumer_group: str = "notifier"
    consumer_batch_size: int = 50
    consumer_events_per_transaction: int = 20
    consumer_group_seconds: float = 0.5
    consumer_session_timeout_ms: int = 12_000
    consumer_heartbeat_interval_ms: int = 2_000
    consumer_fetch_max_wait_ms: int = 40


async def handle(event: CloudEvent) -> None:
    return None


def test_the_consumer_takes_the_services_group_and_tuning() -> None:
    producer = object()
    consumer = build_event_consumer(
        Settings(), producer=producer, topics=["handover.events.v1"], handlers={"a.b": handle, "c.d": handle}
    )
    assert consumer._group_id == "notifier"
    assert consumer._topics == ["handover.events.v1"]
    assert consumer._bootstrap_servers == "broker:9092"
    assert (consumer._batch_size, consumer._session_timeout_ms, consumer._heartbeat_interval_ms) == (50, 12_000, 2_000)
    assert consumer._fetch_max_wait_ms == 40
    assert consumer._handlers == {"a.b": handle, "c.d": handle}
    assert consumer._majors == {"a.b": 1, "c.d": 1}
    assert consumer._producer is producer


def test_a_second_reading_of_a_topic_gets_its_own_group() -> None:
    consumer = build_event_consumer(
        Settings(), producer=object(), topics=["directory.events.v1"], handlers={"x": handle}, group_suffix="directory"
    )
    assert consumer._group_id == "notifier-directory"
