"""Use case: accept a custody event once per (person, sequence), from the establishment that holds the
person, and publish it through the outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.custody import CUSTODY_EVENT_RECORDED_SCHEMA, CustodyEventRecordedV1, CustodyEventV1
from contracts.envelope import EventType, new_event
from services.common import audit
from services.common.clock import Clock
from services.common.db import Database
from services.common.outbox import OutboxMessage, add_to_outbox
from services.common.topics import CUSTODY_EVENTS
from services.release_events import register
from services.release_events.domain.custody_rules import CustodyEvent, Kind, Refused, decide_event
from services.release_events.models import CustodyEventRecord
from services.release_events.service import IdempotencyConflict, request_hash


def as_rule_input(event: CustodyEventV1) -> CustodyEvent:
    return CustodyEvent(
        kind=Kind(event.kind.value),
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


async def _same_sequence_exists(session: AsyncSession, event: CustodyEventV1) -> bool:
    found = await session.exec(
        select(CustodyEventRecord.id).where(
            CustodyEventRecord.prison_number == event.prison_number,
            CustodyEventRecord.sequence == event.sequence,
        )
    )
    return found.first() is not None


async def _earlier(database: Database, event: CustodyEventV1, body_hash: str) -> Accepted | None:
    async with database.session() as session:
        row = (
            await session.exec(
                select(CustodyEventRecord).where(
                    CustodyEventRecord.prison_number == event.prison_number,
                    CustodyEventRecord.sequence == event.sequence,
                )
            )
        ).first()
    if row is None:
        return None
    if row.body_hash != body_hash:
        raise IdempotencyConflict
    return Accepted(row.id, replayed=True)


async def submit_custody_event(
    *,
    database: Database,
    event: CustodyEventV1,
    body: dict[str, Any],
    clock: Clock,
    source: str,
    correlation_id: str,
    audit_entry: audit.AuditEntry | None = None,
) -> Accepted:
    """Store and publish the event; the same (person, sequence) again: the first answer, or a conflict when
    the body differs (two different events cannot share a sequence). Raises :class:`register.CustodyRefused`
    when the register refuses it (another establishment holds the person): nothing is stored."""
    body_hash = request_hash(body)
    earlier = await _earlier(database, event, body_hash)
    if earlier:
        return earlier
    now = clock.now()
    custody_event_id = str(uuid.uuid4())
    outgoing = new_event(
        type=EventType.CUSTODY_EVENT_RECORDED,
        source=source,
        subject=event.prison_number,
        dataschema=CUSTODY_EVENT_RECORDED_SCHEMA,
        data=CustodyEventRecordedV1(custody_event_id=custody_event_id, received_at=now, event=event),
        correlation_id=correlation_id,
        time=now,
    )
    try:
        async with database.transaction() as session:
            custody = await register.lock(session, event.prison_number, now)
            if await _same_sequence_exists(session, event):  # a concurrent twin committed while we waited
                raise _Twin
            decision = decide_event(custody, as_rule_input(event))
            if isinstance(decision, Refused):
                raise register.CustodyRefused(decision)
            await register.save(session, event.prison_number, decision.after, f"custody_event:{custody_event_id}", now)
            session.add(
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
            add_to_outbox(session, topic=CUSTODY_EVENTS, event=outgoing, clock=clock)
            if audit_entry is not None:
                entry = replace(audit_entry, resource_id=custody_event_id)
                await audit.record(session, entry, now)
    except (IntegrityError, _Twin):
        earlier = await _earlier(database, event, body_hash)
        if earlier is None:
            raise
        return earlier
    return Accepted(custody_event_id, replayed=False)


@dataclass(frozen=True)
class CustodyEventStatus:
    custody_event_id: str
    sequence: int
    kind: str
    received_at: datetime
    published_at: datetime | None
    establishment_code: str
    reported_by: str

    @property
    def establishments(self) -> frozenset[str]:
        """Who may read it: where it happened and who reported it (a transfer's sender and receiver)."""
        return frozenset({self.establishment_code, self.reported_by})


async def custody_event_status(*, database: Database, custody_event_id: str) -> CustodyEventStatus | None:
    async with database.session() as session:
        row = await session.get(CustodyEventRecord, custody_event_id)
        if row is None:
            return None
        published_at = (
            await session.exec(select(OutboxMessage.published_at).where(OutboxMessage.event_id == row.event_id))
        ).first()
    reported_by = as_rule_input(CustodyEventV1.model_validate_json(row.body)).reporter
    return CustodyEventStatus(
        row.id, row.sequence, row.kind, row.received_at, published_at, row.establishment_code, reported_by
    )
