"""One way to build a service's event consumer from its settings, so every consumer in every service is tuned
the same (batch size, group session timeout, heartbeat) and reads the same major versions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from aiokafka import AIOKafkaProducer

from services.common.consumer import EventConsumer, Handler
from services.common.consumer_runs import BatchHandler


class ConsumerSettings(Protocol):
    """The part of a service's settings that its consumers read."""

    kafka_bootstrap_servers: str
    consumer_group: str
    consumer_batch_size: int
    consumer_events_per_transaction: int
    consumer_group_seconds: float
    consumer_session_timeout_ms: int
    consumer_heartbeat_interval_ms: int
    consumer_fetch_max_wait_ms: int


def build_event_consumer(
    settings: ConsumerSettings,
    *,
    producer: AIOKafkaProducer,
    topics: Iterable[str],
    handlers: Mapping[str, Handler],
    group_suffix: str | None = None,
    major_version: int = 1,
    transaction: Callable[[], AbstractAsyncContextManager[object]] | None = None,
    after_commit: Callable[[], None] | None = None,
    batch_handlers: Mapping[str, BatchHandler] | None = None,
) -> EventConsumer:
    """A consumer of ``topics`` that hands each event type in ``handlers`` to its handler.

    It joins the service's consumer group, or ``<group>-<group_suffix>`` when the service reads a topic a second
    time for another purpose (each group sees every event). Every handled type is read at ``major_version``;
    dead letters are published with ``producer``. With ``transaction`` (``Database.batch``) the records of a poll
    are applied in groups of ``consumer_events_per_transaction`` sharing one transaction, and ``after_commit``
    runs after each group's commit, and ``batch_handlers`` apply a group's runs of their types at once
    (``EventConsumer``)."""
    group_id = f"{settings.consumer_group}-{group_suffix}" if group_suffix else settings.consumer_group
    return EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=topics,
        group_id=group_id,
        handlers=dict(handlers),
        supported_major_versions=dict.fromkeys(handlers, major_version),
        producer=producer,
        batch_size=settings.consumer_batch_size,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        transaction=transaction,
        events_per_transaction=settings.consumer_events_per_transaction,
        group_seconds=settings.consumer_group_seconds,
        after_commit=after_commit,
        batch_handlers=batch_handlers,
    )
