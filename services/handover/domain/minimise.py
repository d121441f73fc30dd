"""Data minimisation (design notes §3): each kind of agency receives only the sections it needs. Pure."""

from __future__ import annotations

from typing import Any

from contracts.handover import AgencyKind, AgencySections, HandoverPack, MentalHealthSummary
from contracts.release_notice import LegalInformation

_CLINICAL_CORE = (
    "patient_demographics",
    "release",
    "gp_practice",
    "allergies_and_adverse_reactions",
    "medications",
    "safety_alerts",
    "contacts",
    "person_completing_record",
)

SECTIONS_BY_KIND: dict[AgencyKind, tuple[str, ...]] = {
    # Registration, medication and a mental-health summary.
    AgencyKind.GP_PRACTICE: (*_CLINICAL_CORE, "mental_health_summary"),
    # The full mental-health section and medication, and the legal information (MHA status, s117).
    AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM: (*_CLINICAL_CORE, "mental_health", "legal_information"),
    AgencyKind.RECONNECT: (*_CLINICAL_CORE, "mental_health", "substance_misuse", "legal_information"),
    AgencyKind.SUBSTANCE_MISUSE_SERVICE: (*_CLINICAL_CORE, "substance_misuse", "risk_flags"),
    # Reporting instructions, risk flags and contacts; licence conditions only; no clinical detail.
    AgencyKind.PROBATION_DELIVERY_UNIT: (
        "patient_demographics",
        "release",
        "reporting_instructions",
        "risk_flags",
        "contacts",
        "legal_information",
    ),
    # The prison is told about problems with its own patient's handover.
    AgencyKind.PRISON_HEALTHCARE: ("patient_demographics", "release", "safety_alerts", "contacts"),
}


def _value(section: str, kind: AgencyKind, pack: HandoverPack) -> Any:
    mental_health = pack.mental_health
    consented = mental_health is not None and mental_health.consent_to_share
    if section == "mental_health":
        return mental_health if consented else None
    if section == "mental_health_summary":
        if not consented or mental_health is None:
            return None
        return MentalHealthSummary(
            urgency=mental_health.urgency,
            diagnoses=list(mental_health.diagnoses),
            care_programme_approach=mental_health.care_programme_approach,
            care_coordinator=mental_health.care_coordinator,
            risk_flags=list(mental_health.risk_flags),
        )
    if section == "risk_flags":
        return list(mental_health.risk_flags) if consented and mental_health is not None else None
    if section == "legal_information" and kind == AgencyKind.PROBATION_DELIVERY_UNIT:
        legal = pack.legal_information
        return LegalInformation(licence_conditions=list(legal.licence_conditions)) if legal else None
    if section == "safety_alerts" and kind == AgencyKind.PRISON_HEALTHCARE:
        return list(pack.safety_alerts)
    return getattr(pack, section)


def sections_for(kind: AgencyKind, pack: HandoverPack) -> AgencySections:
    """The sections an agency of ``kind`` may receive, and nothing else."""
    values = {section: _value(section, kind, pack) for section in SECTIONS_BY_KIND[kind]}
    return AgencySections(**{name: value for name, value in values.items() if value is not None})


def section_names(kind: AgencyKind, pack: HandoverPack) -> list[str]:
    return sorted(sections_for(kind, pack).model_dump(exclude_none=True))
