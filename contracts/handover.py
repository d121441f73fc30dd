"""Handover pack, v1: the continuity-of-care document built for one release, and the events about it.

Section names follow the PRSB mental-health discharge headings where they overlap (patient demographics,
GP practice, allergies and adverse reactions, medications, safety alerts, legal information, person completing
record, distribution list). Every pack event carries a ``distribution``: one entry per receiving agency
with the reason it was chosen and exactly the sections it may receive (data minimisation, design notes §3).
The notifier sends each entry, as it is, as the ``data`` of that agency's webhook.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, model_validator

from contracts.base import ContractModel
from contracts.envelope import schema_uri
from contracts.release_notice import (
    Allergy,
    Destination,
    LegalInformation,
    Medication,
    MentalHealth,
    NavigatorContact,
    PrisonContact,
    RegisteredGp,
    ReleaseType,
    ReportingInstructions,
    RiskFlag,
    SubstanceMisuse,
    Urgency,
)

HANDOVER_PACK_ISSUED_SCHEMA = schema_uri("handover-pack-issued", "1.0")
HANDOVER_PACK_AMENDED_SCHEMA = schema_uri("handover-pack-amended", "1.0")
HANDOVER_PACK_WITHDRAWN_SCHEMA = schema_uri("handover-pack-withdrawn", "1.0")
REFERRAL_ROUTED_SCHEMA = schema_uri("referral-routed", "1.0")


class AgencyKind(StrEnum):
    GP_PRACTICE = "gp_practice"
    COMMUNITY_MENTAL_HEALTH_TEAM = "community_mental_health_team"
    RECONNECT = "reconnect"
    SUBSTANCE_MISUSE_SERVICE = "substance_misuse_service"
    PROBATION_DELIVERY_UNIT = "probation_delivery_unit"
    PRISON_HEALTHCARE = "prison_healthcare"

    @property
    def label(self) -> str:
        """The kind as people write it ("GP practice"), for text a person reads: routing reasons, screens."""
        return _AGENCY_KIND_LABELS[self]


_AGENCY_KIND_LABELS = {
    AgencyKind.GP_PRACTICE: "GP practice",
    AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM: "community mental health team",
    AgencyKind.RECONNECT: "RECONNECT service",
    AgencyKind.SUBSTANCE_MISUSE_SERVICE: "substance misuse service",
    AgencyKind.PROBATION_DELIVERY_UNIT: "probation delivery unit",
    AgencyKind.PRISON_HEALTHCARE: "prison healthcare",
}


class ReferralKind(StrEnum):
    """What an agency is asked to take over (or, for the prison, told about)."""

    GP_REGISTRATION = "gp_registration"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    REPORTING_INSTRUCTIONS = "reporting_instructions"
    NOTIFICATION = "notification"


class PatientDemographics(ContractModel):
    prison_number: str
    nhs_number: str | None = None
    given_name: str
    family_name: str
    date_of_birth: date


class ReleaseDetails(ContractModel):
    establishment_code: str
    date: date
    type: ReleaseType
    destination: Destination


class AgencyRef(ContractModel):
    code: str
    kind: AgencyKind
    name: str


class GpPractice(ContractModel):
    """GP registration: the registered practice, or the practice asked to register the person, and why."""

    registered: RegisteredGp | None = None
    registration_needed: bool
    registration_requested_from: AgencyRef | None = None


class SafetyAlert(ContractModel):
    """A PRSB safety alert raised by the pack's rules (e.g. a medication supply gap)."""

    code: Literal[
        "medication_supply_gap",
        "opioid_substitution_continuity",
        "mental_health_referral_withheld",
        "no_agency_covers",
        "registered_gp_unreachable",
    ]
    section: str
    detail: str


class MentalHealthReferral(MentalHealth):
    """The notice's mental-health section and whether a referral goes out (never without consent).

    ``referral`` is derived from ``consent_to_share`` when absent (packs issued before it existed)."""

    referral: Literal["requested", "withheld"]
    withheld_reason: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _referral_from_consent(cls, data: Any) -> Any:
        if isinstance(data, dict) and "referral" not in data:
            return {**data, "referral": "requested" if data.get("consent_to_share") else "withheld"}
        return data


class MentalHealthSummary(ContractModel):
    """What a GP practice gets: no crisis plan or early warning signs (data minimisation)."""

    urgency: Urgency
    diagnoses: list[str] = Field(default_factory=list)
    care_programme_approach: bool = False
    care_coordinator: str | None = None
    risk_flags: list[RiskFlag] = Field(default_factory=list)


class SubstanceMisuseSection(SubstanceMisuse):
    referral: Literal["requested", "withheld", "no_service"]


class Contacts(ContractModel):
    prison_healthcare: PrisonContact
    reconnect_navigator: NavigatorContact | None = None


class DistributionListItem(ContractModel):
    """PRSB distribution list: who received the pack, why, and which sections."""

    agency_code: str
    agency_kind: AgencyKind
    agency_name: str
    referral_kind: ReferralKind
    reason: str
    sections: list[str]


class HandoverPack(ContractModel):
    patient_demographics: PatientDemographics
    release: ReleaseDetails
    gp_practice: GpPractice
    allergies_and_adverse_reactions: list[Allergy] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    safety_alerts: list[SafetyAlert] = Field(default_factory=list)
    mental_health: MentalHealthReferral | None = None
    substance_misuse: SubstanceMisuseSection | None = None
    reporting_instructions: ReportingInstructions | None = None
    contacts: Contacts | None = None
    legal_information: LegalInformation | None = None
    person_completing_record: PrisonContact
    distribution_list: list[DistributionListItem] = Field(default_factory=list)


class AgencySections(ContractModel):
    """The part of a pack one agency may see; sections it may not see are absent."""

    patient_demographics: PatientDemographics
    release: ReleaseDetails | None = None
    gp_practice: GpPractice | None = None
    allergies_and_adverse_reactions: list[Allergy] | None = None
    medications: list[Medication] | None = None
    safety_alerts: list[SafetyAlert] | None = None
    mental_health: MentalHealthReferral | None = None
    mental_health_summary: MentalHealthSummary | None = None
    risk_flags: list[RiskFlag] | None = None
    substance_misuse: SubstanceMisuseSection | None = None
    reporting_instructions: ReportingInstructions | None = None
    contacts: Contacts | None = None
    legal_information: LegalInformation | None = None
    person_completing_record: PrisonContact | None = None


class Change(ContractModel):
    """One changed section of an amended pack, with its value before and after (as JSON)."""

    section: str
    before: Any = None
    after: Any = None


MessageKind = Literal["issued", "amended", "withdrawn", "rerouted", "escalated"]


class Invalidation(ContractModel):
    """An answer of the agency that a change no longer fits: the agency is asked to answer again, and its
    referral awaits that answer (its watch for escalation starts again)."""

    item: Literal["reporting_instructions_confirmation", "first_appointment"]
    before: Any = Field(default=None, description="What the agency had answered (e.g. the confirmed time)")
    reason: str


class DistributionEntry(ContractModel):
    """What one agency receives about one handover: sent as the webhook ``data`` as it is."""

    message: MessageKind
    handover_id: str
    version: int = Field(ge=1)
    agency_code: str
    agency_kind: AgencyKind
    agency_name: str
    reason: str = Field(description="Why this agency was chosen")
    referral_id: str | None = Field(default=None, description="Answer it at /v1/agencies/{code}/referrals/{id}")
    referral_kind: ReferralKind
    note: str | None = None
    changes: list[Change] = Field(default_factory=list)
    invalidated: list[Invalidation] = Field(
        default_factory=list, description="Answers of this agency the change no longer fits: answer again"
    )
    pack: AgencySections
    fhir: dict[str, Any] | None = Field(
        default=None,
        description="For an agency whose webhook format is fhir: the same sections as a FHIR R4 document Bundle",
    )


class HandoverPackIssuedV1(ContractModel):
    handover_id: str
    version: int = Field(ge=1)
    notice_id: str
    issued_at: datetime
    pack: HandoverPack
    distribution: list[DistributionEntry] = Field(default_factory=list)


class HandoverPackAmendedV1(ContractModel):
    handover_id: str
    version: int = Field(ge=2)
    notice_id: str
    amended_at: datetime
    reason: str
    changes: list[Change]
    pack: HandoverPack
    distribution: list[DistributionEntry] = Field(default_factory=list)


class WithdrawalReason(StrEnum):
    RELEASE_CANCELLED = "release_cancelled"
    RECALLED = "recalled"
    SUPERSEDED = "superseded"
    NEW_NOTICE_NEEDED = "new_notice_needed"


class HandoverPackWithdrawnV1(ContractModel):
    handover_id: str
    version: int = Field(ge=1)
    notice_id: str
    withdrawn_at: datetime
    reason_code: WithdrawalReason
    reason: str
    distribution: list[DistributionEntry] = Field(default_factory=list)


class ReferralRoutedV1(ContractModel):
    """A rejected referral re-routed to the next eligible agency, or escalated when there is none."""

    handover_id: str
    version: int = Field(ge=1)
    referral_kind: ReferralKind
    rejected_referral_id: str
    rejected_by: str
    outcome: Literal["rerouted", "escalated"]
    routed_at: datetime
    reason: str
    distribution: list[DistributionEntry] = Field(default_factory=list)
