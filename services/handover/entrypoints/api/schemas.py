"""What handover's API accepts and returns; the routes never return a table row."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.answers import Answer, FirstAppointment
from contracts.release_notice import ReportingInstructions
from services.handover.adapters.tables import Referral
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.readiness import ReleaseReadiness
from services.handover.usecases.directory_admin import DirectoryEntry
from services.handover.usecases.queries import Departure, WorkItem


class ReadinessItemPublic(BaseModel):
    item: str
    status: str
    detail: str


class ReadinessPublic(BaseModel):
    status: str
    items: list[ReadinessItemPublic]

    @classmethod
    def of(cls, readiness: ReleaseReadiness) -> ReadinessPublic:
        return cls(
            status=readiness.status.value,
            items=[
                ReadinessItemPublic(item=i.item.value, status=i.status.value, detail=i.detail) for i in readiness.items
            ],
        )


class ReferralPublic(BaseModel):
    referral_id: str
    agency_code: str
    agency_kind: str
    referral_kind: str
    status: str
    reason: str
    first_appointment_at: datetime | None
    first_appointment_place: str | None
    reason_code: str | None
    reason_text: str | None
    attended: bool | None
    reporting_instructions: dict[str, Any] | None
    updated_at: datetime
    delivery_status: str | None = Field(None, description="delivered, failed or dead_lettered, once known")
    delivery_detail: str | None = None

    @classmethod
    def of(cls, r: Referral) -> ReferralPublic:
        reporting = json.loads(r.reporting) if r.reporting else None
        return cls.model_validate({**r.model_dump(), "referral_id": r.id, "reporting_instructions": reporting})


class HandoverPublic(BaseModel):
    handover_id: str
    notice_id: str
    version: int
    issued_at: datetime
    state: str
    state_reason: str | None
    sections: list[str] = Field(description="The sections of the pack this caller may see")
    pack: dict[str, Any] = Field(description="The handover pack: only the sections this caller may see")
    referrals: list[ReferralPublic] = Field(description="All referrals for the prison; an agency's own for it")
    readiness: ReadinessPublic | None = Field(description="Readiness of the release, for the prison only")


class CustodyEventLogPublic(BaseModel):
    event_id: str
    custody_event_id: str
    sequence: int
    kind: str
    outcome: str
    action: str
    detail: str
    handover_id: str | None
    occurred_at: datetime
    recorded_at: datetime


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Answer
    first_appointment: FirstAppointment | None = None
    reason_code: str | None = Field(default=None, min_length=1, max_length=50)
    reason_text: str | None = Field(default=None, max_length=2000)
    attended: bool | None = None
    reporting_instructions: ReportingInstructions | None = None


class AnswerPublic(BaseModel):
    referral_id: str
    status: str
    rerouted_to: str | None
    escalated_to: list[str]


class WorkItemPublic(BaseModel):
    handover_id: str
    referral_id: str
    referral_kind: str
    status: str
    reason: str
    release_date: date
    establishment_code: str
    answer_url: str
    sent: dict[str, Any] = Field(description="What the agency was last sent: only its sections")

    @classmethod
    def of(cls, item: WorkItem, agency_code: str) -> WorkItemPublic:
        return cls(
            handover_id=item.handover.id,
            referral_id=item.referral.id,
            referral_kind=item.referral.referral_kind,
            status=item.referral.status,
            reason=item.referral.reason,
            release_date=item.handover.release_date,
            establishment_code=item.handover.establishment_code,
            answer_url=f"/v1/agencies/{agency_code}/referrals/{item.referral.id}/answers",
            sent=item.sent,
        )


class DeparturePublic(BaseModel):
    handover_id: str
    prison_number: str
    given_name: str
    family_name: str
    release_date: date
    release_type: str
    version: int
    readiness: ReadinessPublic
    referrals: list[ReferralPublic]

    @classmethod
    def of(cls, d: Departure) -> DeparturePublic:
        return cls(
            handover_id=d.handover.id,
            prison_number=d.handover.prison_number,
            given_name=d.pack.patient_demographics.given_name,
            family_name=d.pack.patient_demographics.family_name,
            release_date=d.handover.release_date,
            release_type=d.pack.release.type.value,
            version=d.handover.current_version,
            readiness=ReadinessPublic.of(d.readiness),
            referrals=[ReferralPublic.of(r) for r in d.referrals],
        )


class AgencyPublic(AgencyRecord):
    source: str = Field(description="file (seeded from the directory files) or api (set through this API)")
    revision: int = Field(
        description="Grows with every change; GET /v1/endpoints of the notifier shows the one it delivers with"
    )

    @classmethod
    def of(cls, entry: DirectoryEntry) -> AgencyPublic:
        return cls(**entry.agency.model_dump(), source=entry.source, revision=entry.revision)
