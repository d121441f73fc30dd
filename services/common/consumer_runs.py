"""Runs of a consumer group's events that one batch handler applies at once (``EventConsumer``'s
``batch_handlers``): which records make a run, and applying one inside the group's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog
from aiokafka import ConsumerRecord

from contracts.envelope import CloudEvent
from services.common import tracing

# Applies several events of a group at once, in their order, with the effects the Handler of each would have.
BatchHandler = Callable[[Sequence[CloudEvent]], Awaitable[None]]
# A record of a group, read: its event, None for a type the consumer does not follow, or why it is refused.
Read = CloudEvent | BaseException | None
Refused = list[tuple[ConsumerRecord[bytes, bytes], BaseException]]


def checked_batch_handlers(
    batch_handlers: Mapping[str, BatchHandler], handlers: Mapping[str, object]
) -> dict[str, BatchHandler]:
    """``batch_handlers``, each of whose types has an ordinary handler too (an undone group is applied record by
    record with them)."""
    missing = set(batch_handlers) - set(handlers)
    if missing:
        raise ValueError(f"batch handlers without an ordinary handler: {sorted(missing)}")
    return dict(batch_handlers)


def run_length(
    records: Sequence[ConsumerRecord[bytes, bytes]],
    read: Sequence[Read],
    start: int,
    batch_handlers: Mapping[str, BatchHandler],
) -> int:
    """How many records from ``start`` one batch handler applies together: the run of records of its types on
    one topic (records refused or not followed ride along, as they write nothing); 0 when the first is not of
    such a type."""
    first = read[start]
    batch = batch_handlers.get(first.type) if isinstance(first, CloudEvent) else None
    if batch is None:
        return 0
    end = start + 1
    while end < len(records) and records[end].topic == records[start].topic:
        item = read[end]
        if isinstance(item, CloudEvent) and batch_handlers.get(item.type) is not batch:
            break
        end += 1
    return end - start


async def apply_run(
    records: Sequence[ConsumerRecord[bytes, bytes]],
    read: Sequence[Read],
    batch_handlers: Mapping[str, BatchHandler],
    group_id: str,
) -> Refused:
    """A run's events given to their batch handler at once, in one span linked to each event's; the run's records
    refused for good (to dead-letter after the commit). The handler's failure is raised as it is: the consumer
    then undoes the group and applies it record by record."""
    refused = [(record, item) for record, item in zip(records, read, strict=True) if isinstance(item, BaseException)]
    events = [item for item in read if isinstance(item, CloudEvent)]
    structlog.contextvars.bind_contextvars(event_id=events[0].id, events=len(events))
    try:
        with tracing.consuming_batch(events, topic=records[0].topic, group_id=group_id):
            await batch_handlers[events[0].type](events)
    finally:
        structlog.contextvars.unbind_contextvars("event_id", "events")
    return refused
