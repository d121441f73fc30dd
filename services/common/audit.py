"""The audit trail: append-only and tamper-evident, one per service database.

Each record carries the hash of the record before it (``prev_hash``) and its own hash over its content and
that link, so changing, deleting, inserting or reordering any record breaks the chain at that point;
:mod:`services.common.audit_verify` walks it and names the first broken link (``ttg audit verify``). A one-row
``audit_head`` holds the sequence number and hash of the newest record, so deleting the newest record is caught
too; every append also writes the new head to the service log, an external witness of the chain that a
database administrator cannot rewrite.

A transaction's entries are staged as it goes and chained together just before it commits (``append_many``:
one head-row update per transaction, however many units of work a batch holds; a savepoint rolled back drops
its own), after the transaction's other pending inserts are flushed; the new head goes to the log only once the
transaction has committed. Appends are serialised by updating the head row first: on PostgreSQL that is a row
lock that orders replicas, on SQLite it takes the write lock; ``prev_hash`` and ``seq`` are unique, so a fork can
never be committed. Records are only ever inserted: the code has no update or delete, and database
triggers refuse both (the ``*_security`` migration). The record about an effect is written in the effect's own
transaction where the caller passes its session, so there is no effect without its record.

What is recorded (``action``): ``notice.submitted``, ``notice.read``, ``handover.read`` (with the sections
disclosed), ``handover.read_denied``, ``deliveries.read``, ``delivery.finished``, ``audit.read``,
``subject_access.exported``; answers, escalations and operator actions of the directory and dead letters are
recorded the same way by their routes, an operator's outbox replay as ``outbox.replayed``; every other read
that discloses personal data (worklists, the departure lounge, custody logs, dead letters, escalations) through
:func:`services.common.read_audit.audit_read`. Records hold identifiers (client, prison number as the subject of
subject-access requests, resource ids), never clinical content.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import BigInteger, Column, Connection, Integer, String, Text, event, select, update
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import Database, UtcDateTime, table_of

log = structlog.get_logger(__name__)

GENESIS = "0" * 64
SYSTEM_ROLE = "system"


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_record"

    seq: int = Field(
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    )
    record_id: str = Field(max_length=36, unique=True)
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    actor: str = Field(max_length=100)
    actor_role: str = Field(max_length=30)
    actor_organisation: str = Field(max_length=100)
    action: str = Field(max_length=100)
    resource_type: str = Field(max_length=50)
    resource_id: str | None = Field(default=None, max_length=100)
    subject: str | None = Field(default=None, max_length=20, index=True)
    outcome: str = Field(sa_type=String(20))
    details: str = Field(sa_column=Column(Text, nullable=False))
    correlation_id: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int
    hash: str = Field(max_length=64)


@dataclass(frozen=True)
class AuditEntry:
    """What happened, by whom: the content of a record before it is chained."""

    actor: str
    actor_role: str
    actor_organisation: str
    action: str
    resource_type: str
    resource_id: str | None = None
    subject: str | None = None
    outcome: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None

    @classmethod
    def by(cls, principal: Any, **what: Any) -> AuditEntry:
        """An entry made by an authenticated caller (a :class:`services.common.auth.Principal`)."""
        return cls(
            actor=principal.client_id,
            actor_role=str(principal.role.value),
            actor_organisation=principal.organisation,
            **what,
        )

    @classmethod
    def system(cls, service: str, **what: Any) -> AuditEntry:
        return cls(actor=f"system:{service}", actor_role=SYSTEM_ROLE, actor_organisation="ttg", **what)


def _canonical(values: dict[str, Any]) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode()


def record_hash(row: dict[str, Any]) -> str:
    """The hash of a record: every field but the hash itself, the link to the previous record included."""
    at = row["at"]
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    content = {name: row[name] for name in _HASHED if name != "at"}
    content["at"] = at
    return hashlib.sha256(_canonical(content)).hexdigest()


_HASHED = (
    "seq",
    "record_id",
    "at",
    "actor",
    "actor_role",
    "actor_organisation",
    "action",
    "resource_type",
    "resource_id",
    "subject",
    "outcome",
    "details",
    "correlation_id",
    "prev_hash",
)

records_table = table_of(AuditRecord)
head_table = table_of(AuditHead)


Staged = tuple[AuditEntry, datetime, str]  # an entry, when it happened, its record id
_STAGED = "audit.staged"  # the session's staged entries (a tuple, so a savepoint's snapshot of it stays as it was)
_APPENDED = "audit.appended"  # what the transaction chained, logged once it has committed


def append_many(connection: Connection, staged: Sequence[Staged]) -> list[dict[str, Any]]:
    """Chain ``staged`` entries, in order, after the newest record, inside the connection's current transaction:
    the head row is locked and read once, the records inserted in one statement, the head updated once."""
    connection.execute(update(head_table).where(head_table.c.id == 1).values(seq=head_table.c.seq))  # lock first
    head = connection.execute(select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).one()
    seq, previous = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    for entry, now, record_id in staged:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "record_id": record_id,
            "at": now.astimezone(UTC),
            "actor": entry.actor,
            "actor_role": entry.actor_role,
            "actor_organisation": entry.actor_organisation,
            "action": entry.action,
            "resource_type": entry.resource_type,
            "resource_id": entry.resource_id,
            "subject": entry.subject,
            "outcome": entry.outcome,
            "details": _canonical(entry.details).decode(),
            "correlation_id": entry.correlation_id,
            "prev_hash": previous,
        }
        row["hash"] = previous = record_hash(row)
        rows.append(row)
    if rows:
        connection.execute(records_table.insert(), rows)
        connection.execute(update(head_table).where(head_table.c.id == 1).values(seq=seq, hash=previous))
    return rows


def append_on(connection: Connection, entry: AuditEntry, now: datetime) -> dict[str, Any]:
    """Chain ``entry`` after the newest record, inside the connection's current transaction, at once."""
    return append_many(connection, [(entry, now, str(uuid.uuid4()))])[0]


async def record(session: AsyncSession, entry: AuditEntry, now: datetime) -> None:
    """Append ``entry`` in the caller's transaction: the record commits with the effect, or neither does.

    The entry is staged on the session and chained, with every other entry staged in the same transaction, just
    before that transaction commits (:func:`append_many`: one head-row update per transaction, however many units
    of work a batch holds). A savepoint that is rolled back drops what it staged with the rest of its work
    (``Database.transaction`` restores the session's ``info``), so the chain never has a gap."""
    session.info[_STAGED] = (*session.info.get(_STAGED, ()), (entry, now, str(uuid.uuid4())))


@event.listens_for(Session, "before_commit")
def _append_staged(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its entries wait for the whole transaction
        return
    staged: tuple[Staged, ...] = session.info.pop(_STAGED, ())
    if staged:
        # The transaction's own pending inserts first, then the head: the head row is locked for the chaining
        # alone (a shorter lock, and on PostgreSQL no replica holding the head while it waits on a key another
        # replica's batch holds, the other way round).
        session.flush()
        rows = append_many(session.connection(), staged)
        actions = sorted({entry.action for entry, _, _ in staged})
        session.info[_APPENDED] = {
            "audit_seq": rows[-1]["seq"],
            "audit_hash": rows[-1]["hash"],
            "records": len(rows),
            "actions": actions,
        }


@event.listens_for(Session, "after_commit")
def _witness_appended(session: Session) -> None:
    """The new head to the log, the chain's external witness, once it has committed: a head the log names is
    one the database holds (a COMMIT that fails after the chaining leaves no line)."""
    if session.in_nested_transaction():  # a savepoint released (this hook runs for those too)
        return
    appended: dict[str, Any] | None = session.info.pop(_APPENDED, None)
    if appended is not None:
        log.info("audit.appended", **appended)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)
    session.info.pop(_APPENDED, None)


async def append(database: Database, entry: AuditEntry, now: datetime) -> None:
    """Append ``entry`` in a transaction of its own."""
    async with database.transaction() as session:
        await record(session, entry, now)
