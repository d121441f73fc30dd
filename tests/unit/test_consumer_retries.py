"""A consumer that keeps failing on one event says so at every try: a partition held by a failure that does not
pass is seen in the logs (event, error, attempt), never waits in silence behind a growing lag."""

from __future__ import annotations

import json

from aiokafka import ConsumerRecord
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from contracts.envelope import CloudEvent
from services.common.consumer import EventConsumer
from tests.unit.test_tracing import an_event


def record_of(event: CloudEvent) -> ConsumerRecord[bytes, bytes]:
    value = json.dumps(event.model_dump(mode="json", exclude_none=True)).encode()
    return ConsumerRecord(
        topic="custody.events.v1",
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=(),
    )


async def test_every_retry_of_an_event_is_logged_with_its_error_until_it_passes() -> None:
    event = an_event()
    tries: list[int] = []

    async def handler(received: CloudEvent) -> None:
        tries.append(1)
        if len(tries) < 3:
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))

    consumer = EventConsumer(
        bootstrap_servers="127.0.0.1:1",
        topics=["custody.events.v1"],
        group_id="test",
        handlers={event.type: handler},
        supported_major_versions={},
        producer=None,  # type: ignore[arg-type]  # nothing is dead-lettered here
    )
    with capture_logs() as logs:
        await consumer._process(record_of(event))
    retries = [line for line in logs if line["event"] == "consumer.retrying"]
    assert len(tries) == 3
    assert [line["attempt"] for line in retries] == [1, 2]
    assert {line["error"] for line in retries} == {"OperationalError"}
    assert all(line["log_level"] == "warning" for line in retries)
    assert {(line["topic"], line["partition"], line["offset"]) for line in retries} == {("custody.events.v1", 0, 7)}
