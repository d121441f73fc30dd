"""What each reader of a handover may see: pure rules over the pack, no I/O (data minimisation, design §3).

Prison healthcare of the establishment sees the whole pack. An agency addressed by the pack sees only the
sections its kind needs: a GP practice registration, medication and a mental-health summary; a mental-health
team or RECONNECT the full mental-health section and medication; a substance-misuse service medication and
its own section; probation reporting instructions, risk flags and contacts, never clinical detail. A section
the rules do not name is withheld (deny by default), so a section added to the pack later stays private
until someone decides who needs it.
"""

from __future__ import annotations

from typing import Any

ALL = "*"
COMMON = {"patient_demographics": ALL, "release": ALL, "person_completing_record": ALL, "contacts": ALL}

# section -> ALL, or the fields of it that may be seen
SECTIONS_BY_KIND: dict[str, dict[str, Any]] = {
    "gp_practice": {
        **COMMON,
        "gp_practice": ALL,
        "gp_registration": ALL,
        "allergies_and_adverse_reactions": ALL,
        "medications": ALL,
        "medication_on_release": ALL,
        "mental_health": {"urgency", "diagnoses", "risk_flags", "summary", "consent_to_share"},
    },
    "community_mental_health_team": {
        **COMMON,
        "gp_practice": ALL,
        "allergies_and_adverse_reactions": ALL,
        "medications": ALL,
        "medication_on_release": ALL,
        "mental_health": ALL,
        "mental_health_referral": ALL,
        "legal_information": ALL,
    },
    "substance_misuse_service": {
        **COMMON,
        "allergies_and_adverse_reactions": ALL,
        "medications": ALL,
        "medication_on_release": ALL,
        "substance_misuse": ALL,
    },
    "probation_delivery_unit": {
        **COMMON,
        "reporting_instructions": ALL,
        "mental_health": {"risk_flags"},
        "legal_information": {"licence_conditions"},
    },
}
SECTIONS_BY_KIND["reconnect"] = SECTIONS_BY_KIND["community_mental_health_team"]


def disclose(pack: dict[str, Any], agency_kind: str) -> dict[str, Any]:
    """The part of ``pack`` (JSON data) an agency of ``agency_kind`` may see; nothing for an unknown kind."""
    allowed = SECTIONS_BY_KIND.get(agency_kind, {})
    seen: dict[str, Any] = {}
    for section, value in pack.items():
        rule = allowed.get(section)
        if rule is None or value is None:
            continue
        if rule == ALL:
            seen[section] = value
        elif isinstance(value, dict):
            seen[section] = {name: item for name, item in value.items() if name in rule}
    return seen
