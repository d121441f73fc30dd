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
from datetime import date, datetime
from typing import Any

from services.handover.domain.fhir_model import (
    AGENCY_CODE,
    ESTABLISHMENT_CODE,
    HANDOVER_ID,
    HEADINGS,
    ODS_CODE,
    SAFETY_ALERT_CODES,
    SECTION_CODES,
    SNOMED,
    UK_CORE,
    XHTML,
    BundleBuilder,
    Reading,
    words,
)
from services.handover.domain.fhir_resources import (
    allergy_resource,
    flag_resource,
    medication_resource,
    patient_resource,
    referral_resources,
    referral_summary,
    risk_flags,
)


def bundle(reading: Reading) -> dict[str, Any]:
    """The FHIR R4 document Bundle (JSON) of ``reading``: Composition first, then what its sections cite."""
    b = BundleBuilder(reading)
    s = reading.sections
    patient = b.add(patient_resource(b, s))
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
        entries = [ref for r in reading.referrals for ref in referral_resources(b, r, patient, author)]
        sections.append(_section("referrals", [referral_summary(r) for r in reading.referrals], entries))
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


def _entries(b: BundleBuilder, name: str, value: Any, patient: dict[str, str]) -> list[dict[str, str]]:
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
            return [b.add(allergy_resource(b, i, a, patient)) for i, a in enumerate(value)]
        case "medications":
            return [b.add(medication_resource(b, i, m, patient)) for i, m in enumerate(value)]
        case "safety_alerts":
            return [
                b.add(flag_resource(b, ("safety-alert", i), SAFETY_ALERT_CODES, a.code, a.detail, "safety", patient))
                for i, a in enumerate(value)
            ]
        case "mental_health" | "mental_health_summary":
            return risk_flags(b, name, value.risk_flags, patient)
        case "risk_flags":
            return risk_flags(b, name, value, patient)
    return []


# --- sections and their narrative ------------------------------------------------------------------------


def _section(name: str, value: Any, entries: list[dict[str, str]]) -> dict[str, Any]:
    section: dict[str, Any] = {
        "title": HEADINGS.get(name, words(name).capitalize()),
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
            f"<li>{html.escape(words(k).capitalize(), quote=False)}: {_html(v)}</li>"
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
