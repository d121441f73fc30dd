"""Tables of release_events: notices as received (and their corrections), idempotency records of the
submissions, the custody register (who holds whom), and the progress of each notice downstream."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.db import UtcDateTime


class ReleaseNoticeRecord(SQLModel, table=True):
    __tablename__ = "release_notice"
    __table_args__ = (Index("ix_release_notice_person", "prison_number", "received_at"),)

    id: str = Field(primary_key=True, max_length=36)
    prison_number: str = Field(max_length=7)
    establishment_code: str = Field(max_length=3)
    event_id: str = Field(max_length=36, unique=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    content_hash: str | None = Field(default=None, max_length=64)


class NoticeRevision(SQLModel, table=True):
    """A correction of an accepted notice: the whole corrected notice, numbered from 2 (1 is the original)."""

    __tablename__ = "release_notice_revision"
    __table_args__ = (UniqueConstraint("notice_id", "revision", name="uq_release_notice_revision"),)

    amendment_id: str = Field(primary_key=True, max_length=36)
    notice_id: str = Field(max_length=36, index=True)
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    event_id: str = Field(max_length=36, unique=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class CustodyRegisterLine(SQLModel, table=True):
    """Who holds a person now (``establishment_code`` None: nobody, released or never held), and what said so.

    Every notice and custody event about the person is decided against this row and updates it in the same
    transaction (the row is locked on PostgreSQL), so two submissions cannot both pass the check."""

    __tablename__ = "custody_register"

    prison_number: str = Field(primary_key=True, max_length=7)
    establishment_code: str | None = Field(default=None, max_length=3)
    sequence: int | None = Field(default=None, sa_type=BigInteger)
    released: bool = Field(default=False)
    set_by: str = Field(max_length=50, description="notice:<id> or custody_event:<id>")
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class NoticeProgress(SQLModel, table=True):
    """What happened to a notice downstream, from handover's events: the pack issued, amended or withdrawn."""

    __tablename__ = "notice_progress"

    handover_id: str = Field(primary_key=True, max_length=36)
    notice_id: str = Field(max_length=36, index=True)
    version: int = Field(sa_column=Column(Integer, nullable=False))
    state: str = Field(max_length=20)
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class NoticeDelivery(SQLModel, table=True):
    """The state of the latest message of a handover to one agency: pending when the pack event names it,
    then what the notifier reports. The newest event (by its time) wins, whatever the arrival order."""

    __tablename__ = "notice_delivery"

    handover_id: str = Field(primary_key=True, max_length=36)
    agency_code: str = Field(primary_key=True, max_length=50)
    message: str = Field(max_length=50)
    state: str = Field(max_length=20)
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a submission with an ``Idempotency-Key``, replayed for every retry of it."""

    __tablename__ = "idempotency_key"

    scope: str = Field(primary_key=True, max_length=100)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    response_body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class CustodyEventRecord(SQLModel, table=True):
    """A custody event as received. (prison number, sequence) is unique: the sequence is the natural
    idempotency key of a prison's events, so a repeat is answered as the first time and never published twice."""

    __tablename__ = "custody_event"
    __table_args__ = (UniqueConstraint("prison_number", "sequence", name="uq_custody_event_person_sequence"),)

    id: str = Field(primary_key=True, max_length=36)
    prison_number: str = Field(max_length=7)
    sequence: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=40)
    establishment_code: str = Field(max_length=3)
    event_id: str = Field(max_length=36, unique=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_hash: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
