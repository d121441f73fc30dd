"""The audit records of a group-commit batch, chained in one append at the end of the batch.

Appending one record costs four statements (lock the head row, read it, insert, move the head), and inside a batch
every submission's record paid them all. Here a unit of work inside a batch keeps its entries; when its savepoint
is released they join the batch's list (a unit of work rolled back leaves none), and before the batch commits
they are chained after the head in that order and inserted together, with one head update, in the batch's
transaction: the records still commit with their effects or not at all. Every record is written to the service log
as ``audit.appended`` as ``services.common.audit`` does, the chain's external witness. The records' content and
hashes are those of ``services.common.audit`` (``record_hash``), so ``ttg audit verify`` reads them as any other.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Connection, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.audit import AuditEntry, AuditHead, AuditRecord, record_hash
from services.common.clock import Clock
from services.common.db import table_of
from services.common.unit_of_work import SqlAuditTrail

log = structlog.get_logger(__name__)

Pending = list[tuple[AuditEntry, datetime]]
_batch_entries: ContextVar[Pending | None] = ContextVar("batch_audit_entries", default=None)
_records, _head = table_of(AuditRecord), table_of(AuditHead)


class DeferredAuditTrail(SqlAuditTrail):
    """A unit of work's audit trail inside a batch: its entries wait for its savepoint's release."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        super().__init__(session, clock)
        self.entries: Pending = []

    async def record(self, entry: AuditEntry) -> None:
        self.entries.append((entry, self._clock.now()))


def trail_for(session: AsyncSession, clock: Clock) -> SqlAuditTrail | None:
    """A deferred trail when a batch collects audit entries, else None (the unit of work appends at once)."""
    return DeferredAuditTrail(session, clock) if _batch_entries.get() is not None else None


def keep(trail: SqlAuditTrail) -> None:
    """The unit of work's savepoint was released: its entries are the batch's now."""
    batch = _batch_entries.get()
    if isinstance(trail, DeferredAuditTrail) and batch is not None:
        batch.extend(trail.entries)


@asynccontextmanager
async def audited_batch(session: AsyncSession) -> AsyncIterator[None]:
    """Collects the batch's audit entries while the block runs; appends them when it ends normally."""
    pending: Pending = []
    token = _batch_entries.set(pending)
    try:
        yield
    finally:
        _batch_entries.reset(token)
    if pending:
        rows = await session.run_sync(lambda sync: append_all(sync.connection(), pending))
        for row in rows:
            log.info("audit.appended", audit_seq=row["seq"], audit_hash=row["hash"], action=row["action"])


def append_all(connection: Connection, pending: Pending) -> list[dict[str, Any]]:
    """Chain the entries after the newest record, in order, with one head update."""
    connection.execute(update(_head).where(_head.c.id == 1).values(seq=_head.c.seq))  # lock first
    head = connection.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).one()
    rows: list[dict[str, Any]] = []
    seq, previous = head.seq, head.hash
    for entry, at in pending:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "record_id": str(uuid.uuid4()),
            "at": at.astimezone(UTC),
            "actor": entry.actor,
            "actor_role": entry.actor_role,
            "actor_organisation": entry.actor_organisation,
            "action": entry.action,
            "resource_type": entry.resource_type,
            "resource_id": entry.resource_id,
            "subject": entry.subject,
            "outcome": entry.outcome,
            "details": json.dumps(entry.details, sort_keys=True, separators=(",", ":"), default=str),
            "correlation_id": entry.correlation_id,
            "prev_hash": previous,
        }
        row["hash"] = previous = record_hash(row)
        rows.append(row)
    connection.execute(_records.insert(), rows)
    connection.execute(update(_head).where(_head.c.id == 1).values(seq=seq, hash=previous))
    return rows
