"""Use case: accept a custody event once per (person, sequence), from the establishment that holds the person,
and publish it through the outbox.

The per-person ``sequence`` is the natural idempotency key of a prison's events: the same event again gets the
first answer; another event with a used sequence is a conflict (two different events cannot share a sequence)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from contracts.custody import CUSTODY_EVENT_RECORDED_SCHEMA, CustodyEventRecordedV1, CustodyEventV1
from contracts.envelope import EventType, new_event
from services.common.audit import AuditEntry
from services.common.topics import CUSTODY_EVENTS
from services.release_events.adapters.tables import CustodyEventRecord
from services.release_events.domain.custody_rules import CustodyEvent, CustodyRefused, Refused, decide_event
from services.release_events.domain.notices import IdempotencyConflict, request_hash
from services.release_events.usecases.ports import ReleaseEventsUnitOfWork, WriteConflict
from services.release_events.usecases.refusals import record_refusal


def as_rule_input(event: CustodyEventV1) -> CustodyEvent:
    return CustodyEvent(
        kind=event.kind,
        sequence=event.sequence,
        establishment_code=event.establishment_code,
        from_establishment_code=event.from_establishment_code,
    )


@dataclass(frozen=True)
class Accepted:
    custody_event_id: str
    replayed: bool


class _Twin(Exception):
    """Another request with this (person, sequence) committed first."""


async def _earlier(uow: ReleaseEventsUnitOfWork, event: CustodyEventV1, body_hash: str) -> Accepted | None:
    row = await uow.custody_events.by_sequence(event.prison_number, event.sequence)
    if row is None:
        return None
    if row.body_hash != body_hash:
        raise IdempotencyConflict
    return Accepted(row.id, replayed=True)


async def record_custody_event(
    *,
    uow: ReleaseEventsUnitOfWork,
    event: CustodyEventV1,
    body: dict[str, Any],
    custody_event_id: str,
    now: datetime,
    source: str,
    correlation_id: str,
    audit_entry: AuditEntry | None = None,
) -> Accepted:
    """Store and publish the event, or answer as the first time. Raises :class:`IdempotencyConflict`, or
    :class:`CustodyRefused` when another establishment holds the person (audited; nothing else stored)."""
    body_hash = request_hash(body)
    async with uow:
        earlier = await _earlier(uow, event, body_hash)
    if earlier:
        return earlier
    try:
        async with uow:
            custody = await uow.register.lock(event.prison_number, now)
            if await uow.custody_events.by_sequence(event.prison_number, event.sequence):
                raise _Twin  # a concurrent twin committed while we waited for the lock
            decision = decide_event(custody, as_rule_input(event))
            if isinstance(decision, Refused):
                raise CustodyRefused(decision)
            set_by = f"custody_event:{custody_event_id}"
            await uow.register.save(event.prison_number, decision.after, set_by=set_by, now=now)
            _store(uow, event, body_hash, custody_event_id, now, source, correlation_id)
            if audit_entry is not None:
                await uow.audit.record(replace(audit_entry, resource_id=custody_event_id))
    except (WriteConflict, _Twin):
        async with uow:
            earlier = await _earlier(uow, event, body_hash)
        if earlier is None:
            raise
        return earlier
    except CustodyRefused as refused:
        if audit_entry is not None:
            details = {
                "kind": event.kind.value,
                "sequence": event.sequence,
                "establishment_code": event.establishment_code,
            }
            action = "custody_event.refused"
            await record_refusal(uow=uow, entry=audit_entry, action=action, details=details, refused=refused.refused)
        raise
    return Accepted(custody_event_id, replayed=False)


def _store(
    uow: ReleaseEventsUnitOfWork,
    event: CustodyEventV1,
    body_hash: str,
    custody_event_id: str,
    now: datetime,
    source: str,
    correlation_id: str,
) -> None:
    outgoing = new_event(
        type=EventType.CUSTODY_EVENT_RECORDED,
        source=source,
        subject=event.prison_number,
        dataschema=CUSTODY_EVENT_RECORDED_SCHEMA,
        data=CustodyEventRecordedV1(custody_event_id=custody_event_id, received_at=now, event=event),
        correlation_id=correlation_id,
        time=now,
    )
    uow.custody_events.add(
        CustodyEventRecord(
            id=custody_event_id,
            prison_number=event.prison_number,
            sequence=event.sequence,
            kind=event.kind.value,
            establishment_code=event.establishment_code,
            event_id=outgoing.id,
            body=event.model_dump_json(),
            body_hash=body_hash,
            received_at=now,
        )
    )
    uow.outbox.add(topic=CUSTODY_EVENTS, event=outgoing)
