"""One version of a handover pack as a FHIR R4 document Bundle, for the systems the NHS already runs. Pure.

The Bundle is built from what one reader may see (:mod:`domain.disclosure`), never from the whole pack and
then filtered, so a section a reader may not see cannot reach its Bundle. Every disclosed section becomes a
Composition section whose narrative holds all of its content (nothing clinically significant is left out
because FHIR has no field for it) and, where FHIR has a resource for it, structured entries: Patient,
MedicationStatement, AllergyIntolerance, Flag, ServiceRequest with a Task for the referral's status,
Organization. Ids are UUIDv5 of handover id, version, reader and place in the pack: the same version read by
the same kind of reader always gives the same Bundle (referral statuses are as they stand when it is read).
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.handover import AgencySections
from contracts.release_notice import Allergy, Medication

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


class _Builder:
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


def bundle(reading: Reading) -> dict[str, Any]:
    """The FHIR R4 document Bundle (JSON) of ``reading``: Composition first, then what its sections cite."""
    b = _Builder(reading)
    s = reading.sections
    patient = b.add(_patient(b, s))
    author = (
        b.organisation(ESTABLISHMENT_CODE, s.release.establishment_code, f"HMP {s.release.establishment_code}")
        if s.release is not None
        else {"display": "Prison healthcare"}
    )
    sections: list[dict[str, Any]] = []
    for name, value in s.model_dump(mode="json", exclude_none=True).items():
        entries = _entries(b, name, getattr(s, name), patient)
        sections.append(_section(name, value, entries))
    if reading.referrals:
        entries = [ref for r in reading.referrals for ref in _referral(b, r, patient, author)]
        sections.append(_section("referrals", [_referral_summary(r) for r in reading.referrals], entries))
    if reading.distribution_list:
        sections.append(_section("distribution_list", list(reading.distribution_list), []))
    composition = {
        "resourceType": "Composition",
        "id": b.id("composition"),
        "meta": {"profile": [UK_CORE + "Composition"], "versionId": str(reading.version)},
        "identifier": {"system": HANDOVER_ID, "value": f"{reading.handover_id}/{reading.version}"},
        "status": "final" if reading.version == 1 else "amended",  # R4: changed after it was first final
        "type": {
            "coding": [{"system": SNOMED, "code": "373942005", "display": "Discharge summary"}],
            "text": "Prison release continuity-of-care handover",
        },
        "subject": patient,
        "date": reading.issued_at.isoformat(),
        "author": [author],
        "title": "Through-the-Gate handover pack",
        "section": sections,
    }
    entry = [{"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition}, *b.entries]
    return {
        "resourceType": "Bundle",
        "id": b.id("bundle"),
        "meta": {"profile": [UK_CORE + "Bundle"], "versionId": str(reading.version)},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{b.id('bundle-identifier')}"},
        "type": "document",
        "timestamp": reading.issued_at.isoformat(),
        "entry": entry,
    }


# --- resources -------------------------------------------------------------------------------------------


def _patient(b: _Builder, s: AgencySections) -> dict[str, Any]:
    person = s.patient_demographics
    identifiers = [{"system": PRISON_NUMBER, "value": person.prison_number}]
    if person.nhs_number:
        identifiers.insert(0, {"system": NHS_NUMBER, "value": person.nhs_number})
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": b.id("patient"),
        "meta": {"profile": [UK_CORE + "Patient"]},
        "identifier": identifiers,
        "name": [{"use": "official", "family": person.family_name, "given": [person.given_name]}],
        "birthDate": person.date_of_birth.isoformat(),
    }
    address = s.release.destination.address if s.release is not None else None
    if address is not None:
        patient["address"] = [
            {
                "use": "home",
                "line": list(address.lines),
                "city": address.town,
                "postalCode": address.postcode,
                **({"district": address.local_authority} if address.local_authority else {}),
            }
        ]
    registered = s.gp_practice.registered if s.gp_practice is not None else None
    if registered is not None:
        patient["generalPractitioner"] = [b.organisation(ODS_CODE, registered.ods_code, registered.practice_name)]
    return patient


def _entries(b: _Builder, name: str, value: Any, patient: dict[str, str]) -> list[dict[str, str]]:
    """Structured entries of one section, where FHIR has a resource for its content."""
    match name:
        case "patient_demographics":
            return [patient]
        case "gp_practice":
            requested = value.registration_requested_from
            if requested is not None:
                return [b.organisation(AGENCY_CODE, requested.code, requested.name)]
            if value.registered is not None:
                return [b.organisation(ODS_CODE, value.registered.ods_code, value.registered.practice_name)]
            return []
        case "allergies_and_adverse_reactions":
            return [b.add(_allergy(b, i, a, patient)) for i, a in enumerate(value)]
        case "medications":
            return [b.add(_medication(b, i, m, patient)) for i, m in enumerate(value)]
        case "safety_alerts":
            return [
                b.add(_flag(b, ("safety-alert", i), SAFETY_ALERT_CODES, a.code, a.detail, "safety", patient))
                for i, a in enumerate(value)
            ]
        case "mental_health" | "mental_health_summary":
            return _risks(b, name, value.risk_flags, patient)
        case "risk_flags":
            return _risks(b, name, value, patient)
    return []


def _risks(b: _Builder, section: str, flags: list[Any], patient: dict[str, str]) -> list[dict[str, str]]:
    return [
        b.add(
            _flag(
                b,
                (section, flag.value),
                RISK_FLAG_CODES,
                flag.value,
                f"Risk: {_words(flag.value)}",
                "clinical",
                patient,
            )
        )
        for flag in flags
    ]


def _flag(
    b: _Builder,
    key: tuple[object, ...],
    system: str,
    code: str,
    text: str,
    category: str,
    patient: dict[str, str],
) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "id": b.id("flag", *key),
        "meta": {"profile": [UK_CORE + "Flag"]},
        "status": "active",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": category}]}],
        "code": {"coding": [{"system": system, "code": code}], "text": text},
        "subject": patient,
    }


def _allergy(b: _Builder, index: int, allergy: Allergy, patient: dict[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": b.id("allergy", index),
        "meta": {"profile": [UK_CORE + "AllergyIntolerance"]},
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}
            ]
        },
        "code": {"text": allergy.substance},
        "patient": patient,
    }
    if allergy.reaction:
        resource["reaction"] = [{"manifestation": [{"text": allergy.reaction}]}]
    return resource


def _medication(b: _Builder, index: int, m: Medication, patient: dict[str, str]) -> dict[str, Any]:
    """Supply and flags as extensions (for systems) and as a note (for people); dose, frequency, route as
    the dosage's text, because the pack carries them as the prison wrote them, not coded."""
    extensions: list[dict[str, Any]] = [
        {
            "url": EXTENSION + "supply-days-given",
            "valueQuantity": {
                "value": m.supply_days_given,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        },
        {"url": EXTENSION + "controlled-drug", "valueBoolean": m.controlled_drug},
        {"url": EXTENSION + "opioid-substitution", "valueBoolean": m.opioid_substitution},
        {"url": EXTENSION + "depot", "valueBoolean": m.depot},
    ]
    for key, when in (("last-dose-given", m.last_dose_given), ("next-dose-due", m.next_dose_due)):
        if when is not None:
            extensions.append({"url": EXTENSION + key, "valueDateTime": when.isoformat()})
    if m.next_injection_due is not None:
        extensions.append({"url": EXTENSION + "next-injection-due", "valueDate": m.next_injection_due.isoformat()})
    flags = [
        label
        for label, on in (
            ("controlled drug", m.controlled_drug),
            ("opioid substitution", m.opioid_substitution),
            ("depot", m.depot),
        )
        if on
    ]
    note = f"Supply given on release: {m.supply_days_given} days." + (f" Flags: {', '.join(flags)}." if flags else "")
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": b.id("medication", index),
        "meta": {"profile": [UK_CORE + "MedicationStatement"]},
        "extension": extensions,
        "status": "active",
        "medicationCodeableConcept": {"text": f"{m.name} {m.strength}"},
        "subject": patient,
        "dosage": [{"text": f"{m.dose} {m.frequency}", "route": {"text": m.route}}],
        "note": [{"text": note}],
    }
    if m.indication:
        resource["reasonCode"] = [{"text": m.indication}]
    return resource


def _referral(b: _Builder, r: FhirReferral, patient: dict[str, str], requester: dict[str, str]) -> list[dict[str, str]]:
    """A ServiceRequest (what is asked of whom) and a Task (where the agency's answer stands)."""
    agency = b.organisation(AGENCY_CODE, r.agency_code, r.agency_name)
    request_status, task_status = STATUSES.get(r.status, ("unknown", "requested"))
    identifier = [{"system": REFERRAL_ID, "value": r.referral_id}]
    request = b.add(
        {
            "resourceType": "ServiceRequest",
            "id": b.id("service-request", r.referral_id),
            "meta": {"profile": [UK_CORE + "ServiceRequest"]},
            "identifier": identifier,
            "status": request_status,
            "intent": "order",
            "category": [{"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]}],
            "code": {
                "coding": [{"system": REFERRAL_KIND_CODES, "code": r.referral_kind}],
                "text": _words(r.referral_kind),
            },
            "subject": patient,
            "authoredOn": r.created_at.isoformat(),
            "requester": requester,
            "performer": [agency],
            "note": [{"text": f"Why this agency: {r.reason}"}],
        }
    )
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": b.id("task", r.referral_id),
        "meta": {"profile": [UK_CORE + "Task"]},
        "identifier": identifier,
        "status": task_status,
        "intent": "order",
        "focus": request,
        "for": patient,
        "authoredOn": r.created_at.isoformat(),
        "lastModified": r.updated_at.isoformat(),
        "requester": requester,
        "owner": agency,
    }
    if r.reason_code or r.reason_text:
        task["statusReason"] = {
            **(
                {"coding": [{"system": "urn:ttg:CodeSystem:answer-reason", "code": r.reason_code}]}
                if r.reason_code
                else {}
            ),
            "text": r.reason_text or _words(r.reason_code or ""),
        }
    outputs: list[dict[str, Any]] = []
    if r.first_appointment_at is not None:
        outputs.append({"type": {"text": "first appointment"}, "valueDateTime": r.first_appointment_at.isoformat()})
    if r.first_appointment_place:
        outputs.append({"type": {"text": "first appointment place"}, "valueString": r.first_appointment_place})
    if r.attended is not None:
        outputs.append({"type": {"text": "attended"}, "valueBoolean": r.attended})
    if outputs:
        task["output"] = outputs
    return [request, b.add(task)]


def _referral_summary(r: FhirReferral) -> dict[str, Any]:
    return {
        "agency": f"{r.agency_name} ({r.agency_code})",
        "asked": _words(r.referral_kind),
        "status": r.status,
        "reason": r.reason_text or r.reason_code,
        "first_appointment": r.first_appointment_at,
        "first_appointment_place": r.first_appointment_place,
        "attended": r.attended,
    }


# --- sections and their narrative ------------------------------------------------------------------------


def _section(name: str, value: Any, entries: list[dict[str, str]]) -> dict[str, Any]:
    section: dict[str, Any] = {
        "title": HEADINGS.get(name, _words(name).capitalize()),
        "code": {"coding": [{"system": SECTION_CODES, "code": name}]},
        "text": {"status": "generated", "div": f'<div xmlns="{XHTML}">{_html(value) or "<p>None recorded</p>"}</div>'},
    }
    if entries:
        section["entry"] = entries
    return section


def _html(value: Any) -> str:
    """All of a section's content as plain XHTML lists, every text escaped."""
    if isinstance(value, dict):
        items = [
            f"<li>{html.escape(_words(k).capitalize(), quote=False)}: {_html(v)}</li>"
            for k, v in value.items()
            if v is not None and v != []
        ]
        return f"<ul>{''.join(items)}</ul>" if items else ""
    if isinstance(value, list):
        return f"<ul>{''.join(f'<li>{_html(v)}</li>' for v in value)}</ul>" if value else ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return html.escape(value.isoformat(), quote=False)
    return html.escape(str(value), quote=False)


def _words(code: str) -> str:
    return code.replace("_", " ")
