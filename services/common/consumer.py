"""A batching Kafka consumer that never lets one bad message block a partition.

For each record: parse the CloudEvent, check its major version, hand it to the service's handler. Transient
failures (database or broker unavailable) are retried without end, with backoff, so nothing is skipped while
a dependency is down; any other failure sends the record to the topic's dead-letter topic with the reason,
and the partition moves on. Offsets are committed after each batch, once its effects are committed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from tenacity import AsyncRetrying, RetryCallState, wait_exponential

from contracts.envelope import CloudEvent, major_version
from services.common import tracing
from services.common.broker_probe import BrokerProbe
from services.common.metrics import CONSUMER_DEAD_LETTERS, record_lag
from services.common.topics import dead_letter_topic

log = structlog.get_logger(__name__)

Handler = Callable[[CloudEvent], Awaitable[None]]
# The broker did not answer in time or at all: try again with a fresh consumer.
_BROKER_AWAY: tuple[type[BaseException], ...] = (KafkaError, TimeoutError, ConnectionError, OSError)
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, PoolTimeoutError, ConnectionError, OSError)


def _worth_retrying(state: RetryCallState) -> bool:
    """Retry transient failures until they pass; a unique-key clash a few times (a concurrent duplicate)."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    return isinstance(error, IntegrityError) and state.attempt_number < 3


def _retrying(state: RetryCallState, record: ConsumerRecord[bytes, bytes]) -> None:
    """Say so each time an event is tried again: a partition held by a failure that does not pass must be seen
    (its lag grows, and these lines name where it is held, the event (bound to the log context) and the error),
    never wait in silence."""
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "consumer.retrying",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        attempt=state.attempt_number,
        error=type(error).__name__,
        wait_seconds=round(state.next_action.sleep, 2) if state.next_action else None,
    )


class UnsupportedEvent(Exception):
    """The event is well formed but of a type or major version this consumer cannot apply."""


class EventConsumer:
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topics: Iterable[str],
        group_id: str,
        handlers: dict[str, Handler],
        supported_major_versions: dict[str, int],
        producer: AIOKafkaProducer,
        batch_size: int = 200,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        broker_check_seconds: float = 5.0,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topics = list(topics)
        self._group_id = group_id
        self._handlers = handlers
        self._majors = supported_major_versions
        self._producer = producer
        self._batch_size = batch_size
        self._session_timeout_ms = session_timeout_ms
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._check_seconds = broker_check_seconds

    async def run(self) -> None:
        """Consume until cancelled. When the broker turns out to be another one (its cluster id changed: it
        lost its data, and the group's committed offsets with it), the consumer leaves and a fresh one joins:
        with no committed offsets it reads the new topics from the earliest offset, so the events the
        producers' relays publish again are read; the inbox discards the ones already applied."""
        probe = BrokerProbe(self._bootstrap_servers)
        try:
            while True:
                try:
                    await self._consume_while_same_broker(probe)
                except _BROKER_AWAY as error:
                    log.warning("consumer.broker_unavailable", group_id=self._group_id, error=type(error).__name__)
                    await asyncio.sleep(1.0)
        finally:
            await probe.close()

    async def _consume_while_same_broker(self, probe: BrokerProbe) -> None:
        cluster_id = await probe.cluster_id()
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap_servers,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=self._heartbeat_interval_ms,
        )
        await consumer.start()
        log.info("consumer.started", topics=self._topics, group_id=self._group_id)
        loop = asyncio.get_running_loop()
        checked_at = loop.time()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                # A batch from a replaced broker is read from stale positions: check before applying it.
                if batch or loop.time() - checked_at >= self._check_seconds:
                    current = await probe.cluster_id()
                    checked_at = loop.time()
                    if current != cluster_id:
                        log.warning(
                            "consumer.broker_replaced",
                            topics=self._topics,
                            group_id=self._group_id,
                            previous_cluster_id=cluster_id,
                            cluster_id=current,
                            records_left_to_reread=sum(len(records) for records in batch.values()),
                        )
                        return
                for records in batch.values():
                    for record in records:
                        await self._process(record)
                if batch:
                    await consumer.commit()
                await record_lag(consumer, self._group_id)
        finally:
            await _stop(consumer)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = self._parse(record)
            handler = self._handlers.get(event.type)
            if handler is None:
                log.info("consumer.ignored", event_id=event.id, event_type=event.type)
                return
            structlog.contextvars.bind_contextvars(event_id=event.id, correlation_id=event.correlationid)
            with tracing.consuming(event, topic=record.topic, group_id=self._group_id):
                async for attempt in AsyncRetrying(
                    retry=_worth_retrying,
                    wait=wait_exponential(multiplier=0.1, max=10),
                    before_sleep=lambda state: _retrying(state, record),
                    reraise=True,
                ):
                    with attempt:
                        await handler(event)
        except (UnsupportedEvent, ValidationError, ValueError, KeyError, TypeError) as error:
            await self._dead_letter(record, error)
        except Exception as error:
            log.exception("consumer.handler_failed", topic=record.topic, offset=record.offset)
            await self._dead_letter(record, error)
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")

    def _parse(self, record: ConsumerRecord[bytes, bytes]) -> CloudEvent:
        if record.value is None:
            raise UnsupportedEvent("empty record")
        event = CloudEvent.model_validate(json.loads(record.value))
        expected = self._majors.get(event.type)
        if expected is not None and major_version(event.dataschema) != expected:
            raise UnsupportedEvent(f"{event.type} with dataschema {event.dataschema!r}: only major {expected}")
        return event

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        reason = f"{type(error).__name__}: {error}"[:1000]
        headers = [
            *(record.headers or ()),
            ("dlt-reason", reason.encode()),
            ("dlt-original-topic", record.topic.encode()),
            ("dlt-original-partition", str(record.partition).encode()),
            ("dlt-original-offset", str(record.offset).encode()),
            ("dlt-consumer-group", self._group_id.encode()),
        ]
        await self._producer.send_and_wait(
            dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        CONSUMER_DEAD_LETTERS.labels(record.topic).inc()
        log.warning(
            "consumer.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=type(error).__name__,
        )


async def _stop(consumer: AIOKafkaConsumer) -> None:
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
