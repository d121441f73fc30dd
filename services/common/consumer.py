"""A batching Kafka consumer that never lets one bad message block a partition.

For each record: parse the CloudEvent, check its major version, hand it to the service's handler. Transient
failures (database or broker unavailable) are retried without end, with backoff, so nothing is skipped while
a dependency is down; any other failure sends the record to the topic's dead-letter topic with the reason,
and the partition moves on. Offsets are committed after each batch, once its effects are committed.

Given a ``transaction`` (``Database.batch``), up to ``events_per_transaction`` records share one transaction, held
at most about ``group_seconds`` so the API's writes never wait long behind it. A record refused for good with
nothing of it left in the transaction (refused before its handler wrote, or its savepoint undone) is dead-lettered
after the group's commit. Anything else (the database away, a clash with another replica, an unexpected error,
:class:`ApplyAlone`), a failing commit, or a handler failing inside a ``Database.batch_all_or_nothing`` group
(which has no savepoints: the failure spoils it) undoes the group, which is then applied record by record as
without one, a record refused for good there dead-lettered. Log lines of an undone group are written again;
effects are not (the inbox). Hazard H93.

``batch_handlers`` may apply a group's runs of records at once (``consumer_runs``); when one raises, whatever the
error, the group is undone and applied record by record with the ordinary handlers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from contracts.envelope import CloudEvent, major_version
from services.common import tracing
from services.common.broker_probe import BrokerProbe
from services.common.consumer_retries import retrying
from services.common.consumer_runs import BatchHandler, Read, Refused, apply_run, checked_batch_handlers, run_length
from services.common.dead_lettering import publish_dead_letter
from services.common.kafka_clients import stop_consumer
from services.common.metrics import record_lag

log = structlog.get_logger(__name__)

Handler = Callable[[CloudEvent], Awaitable[None]]
# The broker did not answer in time or at all: try again with a fresh consumer.
_BROKER_AWAY: tuple[type[BaseException], ...] = (KafkaError, TimeoutError, ConnectionError, OSError)


class UnsupportedEvent(Exception):
    """The event is well formed but of a type or major version this consumer cannot apply."""


class ApplyAlone(Exception):
    """Raised by a handler that cannot do its work inside a shared transaction (it must wait for something
    another transaction commits, which the shared one could be holding up): its group is undone and applied
    record by record."""


# Failures that are the record's own and final: it is dead-lettered at once, never retried.
_PERMANENT: tuple[type[BaseException], ...] = (UnsupportedEvent, ValidationError, ValueError, KeyError, TypeError)
_sharing_transaction: ContextVar[bool] = ContextVar("sharing_transaction", default=False)


def in_shared_transaction() -> bool:
    """True while a handler runs inside a group's transaction (see :class:`ApplyAlone`)."""
    return _sharing_transaction.get()


class _RedoAlone(Exception):
    """The group's transaction was undone: apply its records one by one."""


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
        fetch_max_wait_ms: int = 50,
        broker_check_seconds: float = 5.0,
        transaction: Callable[[], AbstractAsyncContextManager[object]] | None = None,
        events_per_transaction: int = 50,
        group_seconds: float = 0.25,
        after_commit: Callable[[], None] | None = None,
        batch_handlers: Mapping[str, BatchHandler] | None = None,
    ) -> None:
        """``transaction`` opens the transaction a group of records shares (``Database.batch``); without it each
        handler commits its own. ``after_commit`` runs after each group commits (wake the outbox relay: the
        handlers' own wake-ups came before the commit). ``batch_handlers``: see ``consumer_runs``."""
        self._bootstrap_servers = bootstrap_servers
        self._topics = list(topics)
        self._group_id = group_id
        self._handlers = handlers
        self._majors = supported_major_versions
        self._producer = producer
        self._batch_size = batch_size
        self._session_timeout_ms = session_timeout_ms
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._check_seconds = broker_check_seconds
        self._transaction = transaction
        self._events_per_transaction = max(1, events_per_transaction)
        self._group_seconds = group_seconds
        self._after_commit = after_commit
        self._batch_handlers = checked_batch_handlers(batch_handlers or {}, handlers)

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
            fetch_max_wait_ms=self._fetch_max_wait_ms,
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
                await self._apply([record for records in batch.values() for record in records])
                if batch:
                    await consumer.commit()
                await record_lag(consumer, self._group_id)
        finally:
            await stop_consumer(consumer)

    async def _apply(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply a poll's records in order: in groups sharing a transaction, or one by one."""
        if self._transaction is None or self._events_per_transaction == 1:
            for record in records:
                await self._process(record)
            return
        start = 0
        while start < len(records):
            start += await self._apply_group(records[start : start + self._events_per_transaction])

    async def _apply_group(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> int:
        """Apply the first records of ``records`` together (all, unless time ran out); how many were applied."""
        try:
            refused, applied = await self._apply_together(records)
        except _RedoAlone as redo:
            log.warning("consumer.group_redone_alone", records=len(records), reason=str(redo))
            for record in records:
                await self._process(record)
            refused, applied = [], len(records)
        for record, error in refused:
            await self._dead_letter(record, error)
        if self._after_commit is not None:
            self._after_commit()
        return applied

    async def _apply_together(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> tuple[Refused, int]:
        """The group's records in one transaction, until they or its time run out; the ones refused for good (to
        dead-letter after the commit) and how many were applied. Raises :class:`_RedoAlone`, with nothing
        committed, when anything else went wrong."""
        assert self._transaction is not None
        refused: Refused = []
        applied = 0
        try:
            async with self._transaction():
                token = _sharing_transaction.set(True)
                loop = asyncio.get_running_loop()
                ends = loop.time() + self._group_seconds
                try:
                    read = [self._read(record) for record in records]
                    while applied < len(records):
                        taken, errors = await self._apply_next(records, read, applied)
                        applied, refused = applied + taken, refused + errors
                        if loop.time() >= ends:
                            break
                finally:
                    _sharing_transaction.reset(token)
        except _RedoAlone:
            raise
        except Exception as error:  # the commit failed (or its outcome is unknown): the inbox sorts out repeats
            raise _RedoAlone(f"commit failed: {type(error).__name__}") from error
        return refused, applied

    def _read(self, record: ConsumerRecord[bytes, bytes]) -> Read:
        """The record's event; None for a type this consumer does not follow; the error if it is refused for good."""
        try:
            found = self._handler_of(record)
        except _PERMANENT as error:
            return error
        return None if found is None else found[0]

    async def _apply_next(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], read: Sequence[Read], start: int
    ) -> tuple[int, Refused]:
        """The record at ``start`` or the run from it: how many records it took, and those refused for good."""
        run = run_length(records, read, start, self._batch_handlers)
        if run <= 1:
            error = await self._apply_in_group(records[start], read[start])
            return 1, [] if error is None else [(records[start], error)]
        part = slice(start, start + run)
        try:
            return run, await apply_run(records[part], read[part], self._batch_handlers, self._group_id)
        except Exception as error:
            raise _RedoAlone(f"{type(error).__name__} in a run at offset {records[start].offset}") from error

    async def _apply_in_group(self, record: ConsumerRecord[bytes, bytes], read: Read) -> BaseException | None:
        """One record inside the group's transaction, once (no retries: a transient failure redoes the group
        alone, where each record is retried); the error when the record is refused for good."""
        if read is None or isinstance(read, BaseException):
            return read
        event, handler = read, self._handlers[read.type]
        structlog.contextvars.bind_contextvars(event_id=event.id, correlation_id=event.correlationid)
        try:
            with tracing.consuming(event, topic=record.topic, group_id=self._group_id):
                await handler(event)
        except _PERMANENT as error:
            return error
        except Exception as error:
            raise _RedoAlone(f"{type(error).__name__} at offset {record.offset}") from error
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")
        return None

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            found = self._handler_of(record)
            if found is None:
                return
            event, handler = found
            structlog.contextvars.bind_contextvars(event_id=event.id, correlation_id=event.correlationid)
            with tracing.consuming(event, topic=record.topic, group_id=self._group_id):
                async for attempt in retrying(record):
                    with attempt:
                        await handler(event)
        except _PERMANENT as error:
            await self._dead_letter(record, error)
        except Exception as error:
            log.exception("consumer.handler_failed", topic=record.topic, offset=record.offset)
            await self._dead_letter(record, error)
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")

    def _handler_of(self, record: ConsumerRecord[bytes, bytes]) -> tuple[CloudEvent, Handler] | None:
        """The record's event and its handler; None (logged) for a type this consumer does not follow."""
        event = self._parse(record)
        handler = self._handlers.get(event.type)
        if handler is None:
            log.info("consumer.ignored", event_id=event.id, event_type=event.type)
            return None
        return event, handler

    def _parse(self, record: ConsumerRecord[bytes, bytes]) -> CloudEvent:
        if record.value is None:
            raise UnsupportedEvent("empty record")
        event = CloudEvent.model_validate_json(record.value)
        expected = self._majors.get(event.type)
        if expected is not None and major_version(event.dataschema) != expected:
            raise UnsupportedEvent(f"{event.type} with dataschema {event.dataschema!r}: only major {expected}")
        return event

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        await publish_dead_letter(self._producer, record, error, group_id=self._group_id)
