"""Release notice, v1: what prison healthcare tells us about one planned release.

Clinical headings follow the PRSB mental-health discharge standard where they overlap. The models are
tolerant readers; the notice and its amendment are request models, whose unknown fields the HTTP API refuses
(:mod:`contracts.base` says why).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Self

from pydantic import EmailStr, Field, ValidationInfo, field_validator, model_validator

from contracts.base import ContractModel, RequestModel
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
RELEASE_NOTICE_AMENDED_SCHEMA = schema_uri("release-notice-amended", "1.0")


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
        if not self.depot and self.next_injection_due is not None:
            raise ValueError("next_injection_due is only for depot injections (set depot: true)")
        if self.last_dose_given and self.next_dose_due and self.next_dose_due <= self.last_dose_given:
            raise ValueError("next_dose_due must be after last_dose_given")
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

    @model_validator(mode="after")
    def _cpa_has_coordinator(self) -> Self:
        if self.care_programme_approach and self.care_coordinator is None:
            raise ValueError("a person on the care programme approach needs a care_coordinator")
        return self


class SubstanceMisuse(ContractModel):
    """Substance misuse (design notes §3): current treatment and dose, last dose, consent to refer locally."""

    substances: list[ShortText] = Field(min_length=1, max_length=10)
    current_treatment: ShortText | None = Field(default=None, description="e.g. methadone maintenance")
    treatment_dose: ShortText | None = None
    last_dose_given: datetime | None = None
    consent_to_refer: bool = Field(description="Without it no referral goes to the local service")


class ReportingInstructions(ContractModel):
    """Where and when the person reports to probation; confirmed by the probation delivery unit."""

    office: ShortText
    report_at: datetime
    practitioner: ShortText | None = None


class NavigatorContact(ContractModel):
    """RECONNECT navigator assigned before release (contacts section)."""

    name: ShortText
    organisation: ShortText | None = None
    phone: ShortText
    email: EmailStr | None = None


class MentalHealthActStatus(StrEnum):
    NOT_DETAINED = "not_detained"
    SECTION_2 = "section_2"
    SECTION_3 = "section_3"
    SECTION_37 = "section_37"
    SECTION_37_41 = "section_37_41"
    SECTION_45A = "section_45a"
    SECTION_47 = "section_47"
    SECTION_47_49 = "section_47_49"
    SECTION_48 = "section_48"
    SECTION_48_49 = "section_48_49"
    COMMUNITY_TREATMENT_ORDER = "community_treatment_order"
    CONDITIONAL_DISCHARGE = "conditional_discharge"
    GUARDIANSHIP = "guardianship"


# Section 117 aftercare follows detention under ss.3, 37, 45A, 47 or 48 (and the orders that follow them).
SECTION_117_QUALIFYING = frozenset(
    {
        MentalHealthActStatus.SECTION_3,
        MentalHealthActStatus.SECTION_37,
        MentalHealthActStatus.SECTION_37_41,
        MentalHealthActStatus.SECTION_45A,
        MentalHealthActStatus.SECTION_47,
        MentalHealthActStatus.SECTION_47_49,
        MentalHealthActStatus.SECTION_48,
        MentalHealthActStatus.SECTION_48_49,
        MentalHealthActStatus.COMMUNITY_TREATMENT_ORDER,
        MentalHealthActStatus.CONDITIONAL_DISCHARGE,
    }
)


class LegalInformation(ContractModel):
    """PRSB "legal information": licence conditions relevant to care, Mental Health Act status, s117."""

    licence_conditions: list[LongText] = Field(default_factory=list, max_length=20)
    mental_health_act_status: MentalHealthActStatus | None = None
    section_117_aftercare: bool | None = Field(
        default=None, description="Entitled to aftercare under s117 of the Mental Health Act 1983"
    )

    @model_validator(mode="after")
    def _s117_needs_qualifying_detention(self) -> Self:
        if self.section_117_aftercare and self.mental_health_act_status not in SECTION_117_QUALIFYING:
            raise ValueError(
                "section_117_aftercare needs a qualifying mental_health_act_status (s3, s37, s45A, s47, s48 "
                "or an order following them)"
            )
        return self


class PrisonContact(ContractModel):
    """The person completing the record (PRSB), who is told when something goes wrong."""

    name: ShortText
    role: ShortText
    phone: ShortText
    email: EmailStr


class ReleaseNoticeV1(RequestModel):
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
    substance_misuse: SubstanceMisuse | None = None
    reporting_instructions: ReportingInstructions | None = Field(
        default=None, description="As known to the prison; probation confirms them"
    )
    reconnect_navigator: NavigatorContact | None = None
    legal_information: LegalInformation | None = None
    prison_contact: PrisonContact

    @field_validator("release")
    @classmethod
    def _release_after_birth(cls, release: Release, info: ValidationInfo) -> Release:
        born = info.data.get("date_of_birth")
        if born is not None and release.date <= born:
            raise ValueError("release.date must be after date_of_birth")
        return release

    @field_validator("reporting_instructions")
    @classmethod
    def _reporting_after_release(
        cls, reporting: ReportingInstructions | None, info: ValidationInfo
    ) -> ReportingInstructions | None:
        release = info.data.get("release")
        if reporting is not None and release is not None and reporting.report_at.date() < release.date:
            raise ValueError("report_at must not be before the release date")
        return reporting


class ReleaseNoticeSubmittedV1(ContractModel):
    """Data of the event published when a notice is accepted."""

    notice_id: str
    received_at: datetime
    notice: ReleaseNoticeV1


class ReleaseNoticeAmendedV1(ContractModel):
    """Data of the event published when prison healthcare corrects an accepted notice.

    The corrected notice replaces the previous one for the same release (same ``notice_id``) rather than
    superseding it: a correction that concerns one agency must not withdraw the case at every agency and wipe
    their answers. ``revision`` counts corrections (the original submission is revision 1), so a consumer can
    apply them once and in order."""

    notice_id: str
    amendment_id: str
    revision: int = Field(ge=2)
    received_at: datetime
    reason: str | None = Field(default=None, max_length=500)
    notice: ReleaseNoticeV1


class ReleaseNoticeAmendmentV1(RequestModel):
    """The request that corrects an accepted notice: the whole corrected notice (same person, same
    establishment) and, optionally, why. Unknown fields are refused by the API, as for a new notice."""

    notice: ReleaseNoticeV1
    reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="Why the notice is corrected (shown to agencies)"
    )
