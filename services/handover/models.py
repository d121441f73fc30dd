"""Tables of handover: one row per release's handover, one per issued version of its pack."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from services.common.db import UtcDateTime


class Handover(SQLModel, table=True):
    __tablename__ = "handover"
    __table_args__ = (Index("ix_handover_person", "prison_number"),)

    id: str = Field(primary_key=True, max_length=36)
    notice_id: str = Field(max_length=36, unique=True)
    prison_number: str = Field(max_length=7)
    establishment_code: str = Field(max_length=3)
    release_date: date
    current_version: int
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class HandoverVersion(SQLModel, table=True):
    """An issued pack, never changed afterwards: an amendment is a new version."""

    __tablename__ = "handover_version"

    handover_id: str = Field(primary_key=True, foreign_key="handover.id", max_length=36)
    version: int = Field(primary_key=True)
    pack: str = Field(sa_column=Column(Text, nullable=False))
    event_id: str = Field(max_length=36, unique=True)
    issued_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
