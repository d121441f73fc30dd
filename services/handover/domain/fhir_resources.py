"""The FHIR R4 resources of a handover Bundle: Patient, Flag, AllergyIntolerance, MedicationStatement, and a
ServiceRequest with a Task per referral. Pure."""

from __future__ import annotations

from typing import Any

from contracts.handover import AgencySections
from contracts.release_notice import Allergy, Medication
from services.handover.domain.fhir_model import (
    AGENCY_CODE,
    EXTENSION,
    NHS_NUMBER,
    ODS_CODE,
    PRISON_NUMBER,
    REFERRAL_ID,
    REFERRAL_KIND_CODES,
    RISK_FLAG_CODES,
    SNOMED,
    STATUSES,
    UK_CORE,
    BundleBuilder,
    FhirReferral,
    words,
)


def patient_resource(b: BundleBuilder, s: AgencySections) -> dict[str, Any]:
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


def risk_flags(b: BundleBuilder, section: str, flags: list[Any], patient: dict[str, str]) -> list[dict[str, str]]:
    return [
        b.add(
            flag_resource(
                b,
                (section, flag.value),
                RISK_FLAG_CODES,
                flag.value,
                f"Risk: {words(flag.value)}",
                "clinical",
                patient,
            )
        )
        for flag in flags
    ]


def flag_resource(
    b: BundleBuilder,
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


def allergy_resource(b: BundleBuilder, index: int, allergy: Allergy, patient: dict[str, str]) -> dict[str, Any]:
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


def medication_resource(b: BundleBuilder, index: int, m: Medication, patient: dict[str, str]) -> dict[str, Any]:
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


def referral_resources(
    b: BundleBuilder, r: FhirReferral, patient: dict[str, str], requester: dict[str, str]
) -> list[dict[str, str]]:
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
                "text": words(r.referral_kind),
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
            "text": r.reason_text or words(r.reason_code or ""),
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


def referral_summary(r: FhirReferral) -> dict[str, Any]:
    return {
        "agency": f"{r.agency_name} ({r.agency_code})",
        "asked": words(r.referral_kind),
        "status": r.status,
        "reason": r.reason_text or r.reason_code,
        "first_appointment": r.first_appointment_at,
        "first_appointment_place": r.first_appointment_place,
        "attended": r.attended,
    }
