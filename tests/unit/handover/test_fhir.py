"""The pack as a FHIR R4 document Bundle: valid against the R4B models, deterministic, complete, minimised."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from contracts.handover import AgencyKind, AgencySections
from services.handover.domain.disclosure import disclose
from services.handover.domain.fhir import bundle
from services.handover.domain.fhir_model import NHS_NUMBER, FhirReferral, Reading
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import route
from tests.unit.handover.factories import DIRECTORY, notice

ISSUED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def full_pack(**options: Any):  # type: ignore[no-untyped-def]
    person = notice(full=True, **options)
    return build_pack(person, route(person, DIRECTORY))


def referral(status: str, **answer: Any) -> FhirReferral:
    return FhirReferral(
        referral_id="0b6f2a52-7d0e-4c5e-9a4c-5b8f3f6d2e11",
        agency_code="CMHT-DUR",
        agency_kind="community_mental_health_team",
        agency_name="Durham community mental health team (fictitious)",
        referral_kind="mental_health",
        status=status,
        reason="covers postcode district DH1",
        created_at=ISSUED,
        updated_at=ISSUED,
        **answer,
    )


def whole(pack, *referrals: FhirReferral) -> Reading:  # type: ignore[no-untyped-def]
    return Reading(
        handover_id="5c1d8f2e-0000-4000-8000-000000000001",
        version=2,
        issued_at=ISSUED,
        audience="whole",
        sections=AgencySections.model_validate(pack.model_dump(mode="json")),
        referrals=referrals,
    )


def as_kind(pack, kind: AgencyKind) -> Reading:  # type: ignore[no-untyped-def]
    return Reading(
        handover_id="5c1d8f2e-0000-4000-8000-000000000001",
        version=2,
        issued_at=ISSUED,
        audience=kind.value,
        sections=AgencySections.model_validate(disclose(pack, kind.value)),
    )


def resources(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == kind]


def section_codes(document: dict[str, Any]) -> set[str]:
    composition = document["entry"][0]["resource"]
    return {s["code"]["coding"][0]["code"] for s in composition["section"]}


@pytest.mark.hazard("H68")
def test_the_whole_pack_is_a_valid_document_bundle_that_round_trips() -> None:
    document = bundle(whole(full_pack(), referral("requested")))
    parsed = Bundle.model_validate(document)
    again = Bundle.model_validate_json(parsed.model_dump_json())
    assert again == parsed
    assert parsed.type == "document" and document["entry"][0]["resource"]["resourceType"] == "Composition"
    references = {e["fullUrl"] for e in document["entry"]}
    assert len(references) == len(document["entry"]), "every entry has its own id"


def test_the_same_version_always_gives_the_same_bundle() -> None:
    pack = full_pack()
    first, again = (json.dumps(bundle(whole(pack, referral("accepted")))) for _ in range(2))
    assert first == again
    other_version = Reading(**{**whole(pack).__dict__, "version": 3})
    assert bundle(other_version)["id"] != bundle(whole(pack))["id"]
    assert bundle(whole(pack))["entry"][0]["resource"]["status"] == "amended"  # version 2
    first = Reading(**{**whole(pack).__dict__, "version": 1})
    assert bundle(first)["entry"][0]["resource"]["status"] == "final"


@pytest.mark.hazard("H68")
def test_patient_medications_allergies_and_risks_are_structured() -> None:
    pack = full_pack()
    document = bundle(whole(pack))
    (patient,) = resources(document, "Patient")
    assert {"system": NHS_NUMBER, "value": pack.patient_demographics.nhs_number} in patient["identifier"]
    assert patient["name"][0]["family"] == pack.patient_demographics.family_name
    statements = resources(document, "MedicationStatement")
    assert [s["medicationCodeableConcept"]["text"] for s in statements] == [
        f"{m.name} {m.strength}" for m in pack.medications
    ]
    methadone = next(s for s, m in zip(statements, pack.medications, strict=True) if m.opioid_substitution)
    extensions = {e["url"].rsplit(":", 1)[-1]: e for e in methadone["extension"]}
    assert extensions["opioid-substitution"]["valueBoolean"] is True
    assert extensions["supply-days-given"]["valueQuantity"]["value"] == pack.medications[1].supply_days_given
    assert "opioid substitution" in methadone["note"][0]["text"]
    assert [a["code"]["text"] for a in resources(document, "AllergyIntolerance")] == [
        a.substance for a in pack.allergies_and_adverse_reactions
    ]
    flags = {f["code"]["coding"][0]["code"] for f in resources(document, "Flag")}
    assert {r.value for r in pack.mental_health.risk_flags} <= flags  # type: ignore[union-attr]
    assert {a.code for a in pack.safety_alerts} <= flags


def test_every_disclosed_section_is_a_composition_section_with_all_its_content_in_the_narrative() -> None:
    pack = full_pack()
    document = bundle(whole(pack))
    assert section_codes(document) == set(pack.model_dump(exclude_none=True)) - {"distribution_list"}
    composition = document["entry"][0]["resource"]
    mental_health = next(s for s in composition["section"] if s["code"]["coding"][0]["code"] == "mental_health")
    assert pack.mental_health.crisis_plan in mental_health["text"]["div"]  # type: ignore[union-attr]


@pytest.mark.hazard("H68")
@pytest.mark.parametrize(
    ("status", "answer", "request_status", "task_status"),
    [
        ("requested", {}, "active", "requested"),
        ("received", {}, "active", "received"),
        ("accepted", {"first_appointment_at": ISSUED, "first_appointment_place": "Clinic 2"}, "active", "accepted"),
        ("rejected", {"reason_code": "out_of_area", "reason_text": "Lives outside our area"}, "revoked", "rejected"),
        ("completed", {"first_appointment_at": ISSUED, "attended": True}, "completed", "completed"),
    ],
)
def test_each_referral_is_a_service_request_whose_task_carries_the_answer(
    status: str, answer: dict[str, Any], request_status: str, task_status: str
) -> None:
    document = bundle(whole(full_pack(), referral(status, **answer)))
    Bundle.model_validate(document)
    (request,) = list(resources(document, "ServiceRequest"))
    (task,) = resources(document, "Task")
    assert request["status"] == request_status and task["status"] == task_status
    assert task["focus"]["reference"] == f"urn:uuid:{request['id']}"
    owner = next(e["resource"] for e in document["entry"] if e["fullUrl"] == task["owner"]["reference"])
    assert owner["resourceType"] == "Organization" and owner["identifier"][0]["value"] == "CMHT-DUR"
    if status == "rejected":
        assert task["statusReason"]["text"] == "Lives outside our area"
        assert task["statusReason"]["coding"][0]["code"] == "out_of_area"
    outputs = {o["type"]["text"]: o for o in task.get("output", [])}
    if "attended" in answer:
        assert outputs["attended"]["valueBoolean"] is True
    if "first_appointment_place" in answer:
        assert outputs["first appointment place"]["valueString"] == "Clinic 2"


@pytest.mark.hazard("H67")
@pytest.mark.parametrize("kind", list(AgencyKind))
def test_an_agency_bundle_holds_only_the_sections_of_its_kind(kind: AgencyKind) -> None:
    pack = full_pack()
    document = bundle(as_kind(pack, kind))
    Bundle.model_validate(document)
    assert section_codes(document) == set(disclose(pack, kind.value))
    text = json.dumps(document)
    assert pack.mental_health is not None and pack.mental_health.crisis_plan
    if "mental_health" not in section_codes(document):
        assert pack.mental_health.crisis_plan not in text
    if "medications" not in section_codes(document):
        assert not resources(document, "MedicationStatement")
        assert pack.medications[0].name not in text


@pytest.mark.hazard("H67")
def test_without_consent_no_mental_health_content_reaches_a_gp_bundle() -> None:
    pack = full_pack(consent_to_share=False)
    document = bundle(as_kind(pack, AgencyKind.GP_PRACTICE))
    assert not section_codes(document) & {"mental_health", "mental_health_summary", "risk_flags"}
    assert not [f for f in resources(document, "Flag") if f["category"][0]["coding"][0]["code"] == "clinical"]


@pytest.mark.hazard("H68")
def test_nothing_in_a_section_is_lost_for_want_of_a_fhir_field() -> None:
    pack = full_pack()
    composition = bundle(whole(pack))["entry"][0]["resource"]
    narrative = {s["code"]["coding"][0]["code"]: s["text"]["div"] for s in composition["section"]}
    assert pack.legal_information is not None and pack.reporting_instructions is not None
    for condition in pack.legal_information.licence_conditions:
        assert condition in narrative["legal_information"]
    assert pack.reporting_instructions.office in narrative["reporting_instructions"]
    for m in pack.medications:
        assert m.dose in narrative["medications"] and m.frequency in narrative["medications"]
