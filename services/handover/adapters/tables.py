"""Tables of handover: handovers and their versions, referrals and answers, custody-event log, people, and
the routing part of the directory of services."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from services.common.db import UtcDateTime


class Handover(SQLModel, table=True):
    __tablename__ = "handover"
    __table_args__ = (
        Index("ix_handover_person", "prison_number"),
        Index("ix_handover_departures", "establishment_code", "state", "release_date"),
    )

    id: str = Field(primary_key=True, max_length=36)
    notice_id: str = Field(max_length=36, unique=True)
    prison_number: str = Field(max_length=7)
    establishment_code: str = Field(max_length=3)
    release_date: date
    current_version: int
    state: str = Field(default="open", max_length=20, description="open, released, withdrawn, closed")
    state_reason: str | None = Field(default=None, max_length=500)
    notice: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, server_default=""),
        description="The release notice as it now stands (amendments applied), JSON",
    )
    revision: int = Field(
        default=1,
        sa_column=Column(Integer, nullable=False, server_default="1"),
        description="The notice's revision applied (1: as submitted; each correction counts one)",
    )
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


class Referral(SQLModel, table=True):
    """One agency asked to take over one part of a handover (or, kind notification, told about it)."""

    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_handover_agency", "handover_id", "agency_code"),
        Index("ix_referral_worklist", "agency_code", "status"),
    )

    id: str = Field(primary_key=True, max_length=36)
    handover_id: str = Field(foreign_key="handover.id", max_length=36)
    agency_code: str = Field(max_length=20)
    agency_kind: str = Field(max_length=40)
    agency_name: str = Field(max_length=200)
    referral_kind: str = Field(max_length=40)
    status: str = Field(max_length=20)
    reason: str = Field(max_length=500, description="Why this agency was chosen")
    sections: str = Field(sa_column=Column(Text, nullable=False), description="Last entry sent to it, JSON")
    first_appointment_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    first_appointment_place: str | None = Field(default=None, max_length=200)
    reason_code: str | None = Field(default=None, max_length=50)
    reason_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attended: bool | None = None
    report_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    reporting: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    delivery_status: str | None = Field(
        default=None, max_length=20, description="What the notifier last reported: delivered, failed, dead_lettered"
    )
    delivery_detail: str | None = Field(default=None, max_length=500)
    invalidated_reason: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="Why the agency's answer no longer holds and it is asked again (cleared by its next answer)",
    )


class ReferralAnswer(SQLModel, table=True):
    __tablename__ = "referral_answer"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    referral_id: str = Field(foreign_key="referral.id", max_length=36, index=True)
    answer: str = Field(max_length=20)
    body: str = Field(sa_column=Column(Text, nullable=False))
    event_id: str = Field(max_length=36, unique=True)
    outcome: str = Field(sa_column=Column(Text, nullable=False), description="What the answer led to, JSON")
    answered_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class Person(SQLModel, table=True):
    """Where a person's custody events stand: the last applied sequence."""

    __tablename__ = "person"

    prison_number: str = Field(primary_key=True, max_length=7)
    last_sequence: int | None = Field(default=None, sa_type=BigInteger)
    establishment_code: str | None = Field(default=None, max_length=3)
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class CustodyEventRecord(SQLModel, table=True):
    """Every custody event received, applied or not, and why."""

    __tablename__ = "custody_event_log"
    __table_args__ = (Index("ix_custody_event_person", "prison_number", "sequence"),)

    event_id: str = Field(primary_key=True, max_length=64)
    custody_event_id: str = Field(max_length=36)
    prison_number: str = Field(max_length=7)
    sequence: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=40)
    outcome: str = Field(max_length=20)
    action: str = Field(max_length=40)
    detail: str = Field(max_length=1000)
    handover_id: str | None = Field(default=None, max_length=36)
    event: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="The custody event (JSON): a held or late event is decided again from the ordered log",
    )
    occurred_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class DirectoryAgency(SQLModel, table=True):
    """The routing part of one agency (``record`` is its JSON); ``source`` says who last set it."""

    __tablename__ = "directory_agency"

    code: str = Field(primary_key=True, max_length=20)
    kind: str = Field(max_length=40)
    record: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=20, description="file (seeded from deploy/directory) or api (admin API)")
    active: bool = True
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    revision: int = Field(default=0, description="Grows with every change; carried by directory.agency.changed")
