"""Tables of the outcomes dataset: the readiness each case ended with, when each referral reached its agency, and
which referrals were escalated."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from services.common.db import UtcDateTime


class ReleaseOutcomeRecord(SQLModel, table=True):
    """Kept once per handover when the person is released or the handover withdrawn, never changed after."""

    __tablename__ = "release_outcome"
    __table_args__ = (Index("ix_release_outcome_month", "recorded_at", "establishment_code"),)

    handover_id: str = Field(primary_key=True, max_length=36)
    prison_number: str = Field(max_length=7)
    establishment_code: str = Field(max_length=3)
    release_date: date
    ending: str = Field(max_length=30, description="released, or the withdrawal's reason")
    items: str = Field(
        sa_column=Column(Text, nullable=False), description="JSON: readiness item -> done, pending or at_risk"
    )
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class ReferralDelivered(SQLModel, table=True):
    """When the notifier first reported a referral's pack delivered: the start of the agency's time to answer."""

    __tablename__ = "referral_delivered"

    referral_id: str = Field(primary_key=True, max_length=36)
    delivered_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class ReferralEscalationRecord(SQLModel, table=True):
    """One referral named by one escalation (a deadline passed unanswered, or an undeliverable pack with nobody
    else to take it); never changed after."""

    __tablename__ = "referral_escalation"
    __table_args__ = (Index("ix_referral_escalation_referral", "referral_id"),)

    escalation_id: str = Field(primary_key=True, max_length=64)
    referral_id: str = Field(primary_key=True, max_length=36)
    handover_id: str = Field(max_length=36)
    agency_code: str = Field(max_length=20)
    cause: str = Field(max_length=20, description="after_delivery, before_release or undeliverable")
    escalated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
