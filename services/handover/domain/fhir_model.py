"""The vocabulary of handover's FHIR R4 Bundles: the systems and code systems it names, the headings of its
sections, what a Bundle is made from (:class:`Reading`) and the builder that gives every resource a stable id.
Pure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.handover import AgencySections

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS_CODE = "https://fhir.nhs.uk/Id/ods-organization-code"
PRISON_NUMBER = "urn:ttg:id:prison-number"
AGENCY_CODE = "urn:ttg:id:agency-code"
ESTABLISHMENT_CODE = "urn:ttg:id:establishment-code"
HANDOVER_ID = "urn:ttg:id:handover"
REFERRAL_ID = "urn:ttg:id:referral"
SECTION_CODES = "urn:ttg:CodeSystem:handover-section"
SAFETY_ALERT_CODES = "urn:ttg:CodeSystem:safety-alert"
RISK_FLAG_CODES = "urn:ttg:CodeSystem:risk-flag"
REFERRAL_KIND_CODES = "urn:ttg:CodeSystem:referral-kind"
EXTENSION = "urn:ttg:StructureDefinition:"
SNOMED = "http://snomed.info/sct"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
XHTML = "http://www.w3.org/1999/xhtml"
NAMESPACE = uuid.UUID("6f1c3c0e-6d2b-5b8e-9a51-2b7f1d0a4c11")

# PRSB mental-health discharge headings where they overlap (design notes §3); the rest are the pack's own.
HEADINGS: dict[str, str] = {
    "patient_demographics": "Patient demographics",
    "release": "Release details",
    "gp_practice": "GP practice",
    "allergies_and_adverse_reactions": "Allergies and adverse reactions",
    "medications": "Medications and medical devices",
    "safety_alerts": "Safety alerts",
    "mental_health": "Mental health",
    "mental_health_summary": "Mental health summary",
    "risk_flags": "Risks",
    "substance_misuse": "Substance misuse",
    "reporting_instructions": "Reporting instructions",
    "contacts": "Contacts",
    "legal_information": "Legal information",
    "person_completing_record": "Person completing record",
    "referrals": "Plan and requested actions",
    "distribution_list": "Distribution list",
}

# Referral status -> (ServiceRequest.status, Task.status): the agency's answer lives on the Task.
STATUSES: dict[str, tuple[str, str]] = {
    "requested": ("active", "requested"),
    "received": ("active", "received"),
    "accepted": ("active", "accepted"),
    "rejected": ("revoked", "rejected"),
    "cancelled": ("revoked", "cancelled"),
    "completed": ("completed", "completed"),
}


@dataclass(frozen=True)
class FhirReferral:
    """What a Bundle tells of one referral: its agency, what it asks, and how the agency answered."""

    referral_id: str
    agency_code: str
    agency_kind: str
    agency_name: str
    referral_kind: str
    status: str
    reason: str
    created_at: datetime
    updated_at: datetime
    first_appointment_at: datetime | None = None
    first_appointment_place: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    attended: bool | None = None


@dataclass(frozen=True)
class Reading:
    """One version of a handover as one reader sees it: ``audience`` is "whole" or the reader's agency kind."""

    handover_id: str
    version: int
    issued_at: datetime
    audience: str
    sections: AgencySections
    referrals: tuple[FhirReferral, ...] = ()
    distribution_list: tuple[dict[str, Any], ...] = ()


class BundleBuilder:
    """Collects the resources of one Bundle; ids are UUIDv5 of the reading and the place in the pack."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.entries: list[dict[str, Any]] = []
        self.organisations: dict[tuple[str, str], str] = {}

    def id(self, *parts: object) -> str:
        r = self.reading
        return str(uuid.uuid5(NAMESPACE, "/".join(map(str, (r.handover_id, r.version, r.audience, *parts)))))

    def add(self, resource: dict[str, Any]) -> dict[str, str]:
        self.entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
        return {"reference": f"urn:uuid:{resource['id']}"}

    def organisation(self, system: str, code: str, name: str | None) -> dict[str, str]:
        """One Organization per identifier, however many times the pack names it."""
        if (system, code) not in self.organisations:
            resource: dict[str, Any] = {
                "resourceType": "Organization",
                "id": self.id("organization", system, code),
                "meta": {"profile": [UK_CORE + "Organization"]},
                "identifier": [{"system": system, "value": code}],
                "active": True,
            }
            if name:
                resource["name"] = name
            self.organisations[(system, code)] = self.add(resource)["reference"]
        return {"reference": self.organisations[(system, code)]}


def words(code: str) -> str:
    return code.replace("_", " ")
