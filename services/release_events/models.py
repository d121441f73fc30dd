"""Tables of release_events: notices as received, and idempotency records of the submissions."""

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
