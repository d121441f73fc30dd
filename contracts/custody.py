"""Custody events, v1: what happens to a person in custody that changes their release.

Kinds and reasons follow HMPPS's vocabulary where it exists (design notes §5). Each event carries a
per-person ``sequence`` set by the sending prison system: consumers apply a person's events in that order,
once, and record (then ignore) an event older than what they have already applied.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from contracts.base import ContractModel, RequestModel
from contracts.envelope import schema_uri
from contracts.identifiers import EstablishmentCode, LongText, NhsNumber, PrisonNumber
from contracts.release_notice import PrisonContact

CUSTODY_EVENT_RECORDED_SCHEMA = schema_uri("custody-event-recorded", "1.0")


class CustodyEventKind(StrEnum):
    RECEPTION = "reception"
    TRANSFER = "transfer"
    RELEASE_DATE_CHANGED = "release_date_changed"
    RELEASE_CANCELLED = "release_cancelled"
    RELEASED = "released"
    RECALLED = "recalled"


class ReceptionReason(StrEnum):
    NEW_ADMISSION = "new_admission"
    READMISSION = "readmission"
    TRANSFER_IN = "transfer_in"
    RETURN_FROM_COURT = "return_from_court"


class ReleasedReason(StrEnum):
    RELEASED = "released"
    RELEASED_TO_HOSPITAL = "released_to_hospital"
    TEMPORARY_ABSENCE = "temporary_absence"


REASONS: dict[CustodyEventKind, frozenset[str]] = {
    CustodyEventKind.RECEPTION: frozenset(ReceptionReason),
    CustodyEventKind.RELEASED: frozenset(ReleasedReason),
}


class CustodyEventV1(RequestModel):
    """One custody event about one person, as the prison submits it."""

    prison_number: PrisonNumber
    nhs_number: NhsNumber | None = None
    sequence: int = Field(ge=1, le=2**53, description="Per-person sequence of the sending system, increasing")
    kind: CustodyEventKind
    reason: str | None = Field(default=None, max_length=40, description="reception and released: HMPPS reason")
    establishment_code: EstablishmentCode = Field(description="Where the person is (for transfer: the new one)")
    occurred_at: datetime
    release_date: date | None = Field(default=None, description="release_date_changed: the new date")
    from_establishment_code: EstablishmentCode | None = Field(default=None, description="transfer: the old one")
    prison_contact: PrisonContact | None = Field(default=None, description="transfer: the new healthcare contact")
    detail: LongText | None = Field(default=None, description="Free text, e.g. why a release was cancelled")

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> Self:
        allowed = REASONS.get(self.kind)
        if allowed is None and self.reason is not None:
            raise ValueError(f"a {self.kind.value} event takes no reason")
        if allowed is not None and self.reason not in allowed:
            raise ValueError(f"reason of a {self.kind.value} event must be one of: {', '.join(sorted(allowed))}")
        if self.kind == CustodyEventKind.RELEASE_DATE_CHANGED and self.release_date is None:
            raise ValueError("a release_date_changed event needs release_date")
        if self.kind != CustodyEventKind.RELEASE_DATE_CHANGED and self.release_date is not None:
            raise ValueError("release_date is only for release_date_changed events")
        if self.kind == CustodyEventKind.TRANSFER and self.from_establishment_code is None:
            raise ValueError("a transfer event needs from_establishment_code")
        return self


class CustodyEventRecordedV1(ContractModel):
    """Data of the event published on ``custody.events.v1`` when a custody event is accepted."""

    custody_event_id: str
    received_at: datetime
    event: CustodyEventV1
