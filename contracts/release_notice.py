"""Release notice, v1: what prison healthcare tells us about one planned release.

Clinical headings follow the PRSB mental-health discharge standard where they overlap. The models are
tolerant readers (unknown fields are ignored) so that a consumer keeps working when a producer adds an
optional field; the HTTP API that accepts notices rejects unknown fields instead (a misspelt field in a
clinical record must not vanish silently).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator, model_validator

from contracts.envelope import schema_uri
from contracts.identifiers import (
    EstablishmentCode,
    LongText,
    NhsNumber,
    OdsPracticeCode,
    PrisonNumber,
    ShortText,
    UkPostcode,
)

RELEASE_NOTICE_SUBMITTED_SCHEMA = schema_uri("release-notice-submitted", "1.0")


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ReleaseType(StrEnum):
    CONDITIONAL = "conditional"
    END_OF_SENTENCE = "end_of_sentence"
    HOME_DETENTION_CURFEW = "home_detention_curfew"
    PAROLE = "parole"
    REMAND = "remand"
    EARLY_RELEASE = "early_release"


class Address(ContractModel):
    lines: list[ShortText] = Field(min_length=1, max_length=4)
    town: ShortText
    postcode: UkPostcode
    local_authority: ShortText | None = None


class Destination(ContractModel):
    """Where the person goes: an address, or no fixed abode (routed by last known local authority)."""

    kind: Literal["address", "no_fixed_abode"]
    address: Address | None = None
    last_known_local_authority: ShortText | None = None

    @model_validator(mode="after")
    def _address_matches_kind(self) -> Self:
        if self.kind == "address" and self.address is None:
            raise ValueError("an address is required when kind is 'address'")
        if self.kind == "no_fixed_abode" and self.address is not None:
            raise ValueError("no address may be given when kind is 'no_fixed_abode'")
        return self


class Release(ContractModel):
    date: date
    type: ReleaseType
    destination: Destination


class RegisteredGp(ContractModel):
    ods_code: OdsPracticeCode
    practice_name: ShortText | None = None


class Medication(ContractModel):
    name: ShortText
    strength: ShortText
    dose: ShortText
    frequency: ShortText
    route: ShortText
    indication: ShortText | None = None
    supply_days_given: int = Field(ge=0, le=90, description="Days of supply handed over on release")
    last_dose_given: datetime | None = None
    next_dose_due: datetime | None = None
    controlled_drug: bool = False
    opioid_substitution: bool = False
    depot: bool = False
    next_injection_due: date | None = None

    @model_validator(mode="after")
    def _depot_has_next_injection(self) -> Self:
        if self.depot and self.next_injection_due is None:
            raise ValueError("a depot injection needs next_injection_due")
        return self


class Allergy(ContractModel):
    substance: ShortText
    reaction: ShortText | None = None


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"


class RiskFlag(StrEnum):
    SELF_HARM = "self_harm"
    SUICIDE = "suicide"
    HARM_TO_OTHERS = "harm_to_others"
    VULNERABILITY = "vulnerability"


class MentalHealth(ContractModel):
    urgency: Urgency
    diagnoses: list[ShortText] = Field(default_factory=list, max_length=20)
    care_programme_approach: bool = False
    care_coordinator: ShortText | None = None
    risk_flags: list[RiskFlag] = Field(default_factory=list)
    early_warning_signs: LongText | None = None
    crisis_plan: LongText | None = None
    consent_to_share: bool
    summary: LongText | None = None


class PrisonContact(ContractModel):
    """The person completing the record (PRSB), who is told when something goes wrong."""

    name: ShortText
    role: ShortText
    phone: ShortText
    email: EmailStr


class ReleaseNoticeV1(ContractModel):
    prison_number: PrisonNumber
    nhs_number: NhsNumber | None = Field(default=None, description="Absent when not known; never guessed")
    given_name: ShortText
    family_name: ShortText
    date_of_birth: date
    establishment_code: EstablishmentCode
    release: Release
    registered_gp: RegisteredGp | None = None
    medications: list[Medication] = Field(default_factory=list, max_length=50)
    allergies: list[Allergy] = Field(default_factory=list, max_length=50)
    mental_health: MentalHealth | None = None
    prison_contact: PrisonContact

    @field_validator("release")
    @classmethod
    def _release_after_birth(cls, release: Release, info: ValidationInfo) -> Release:
        born = info.data.get("date_of_birth")
        if born is not None and release.date <= born:
            raise ValueError("release.date must be after date_of_birth")
        return release


class ReleaseNoticeSubmittedV1(ContractModel):
    """Data of the event published when a notice is accepted."""

    notice_id: str
    received_at: datetime
    notice: ReleaseNoticeV1
