"""An agency's answer to its part of a handover, v1 (referral received / accepted / rejected / completed,
reporting instructions confirmed). Published on ``handover.events.v1`` as ``REFERRAL_ANSWERED``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from contracts.base import ContractModel
from contracts.envelope import schema_uri
from contracts.release_notice import ReportingInstructions

REFERRAL_ANSWERED_SCHEMA = schema_uri("referral-answered", "1.0")


class Answer(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"  # probation: reporting instructions confirmed


class FirstAppointment(ContractModel):
    at: datetime
    place: str = Field(min_length=1, max_length=200)


class ReferralAnsweredV1(ContractModel):
    handover_id: str
    agency_code: str
    answer: Answer
    answered_at: datetime
    first_appointment: FirstAppointment | None = None
    reason_code: str | None = Field(default=None, max_length=50)
    reason_text: str | None = Field(default=None, max_length=2000)
    # Optional since 1.0 (tolerant readers ignore them): which referral, what it was for, and its details.
    referral_id: str | None = None
    referral_kind: str | None = Field(default=None, max_length=40)
    agency_kind: str | None = Field(default=None, max_length=40)
    prison_number: str | None = None
    attended: bool | None = Field(default=None, description="completed: first appointment attended?")
    reporting_instructions: ReportingInstructions | None = Field(
        default=None, description="confirmed: the reporting instructions probation confirmed"
    )
