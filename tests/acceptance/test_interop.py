"""Speaking the field's languages: the handover pack as a FHIR R4 document Bundle, read over HTTP from the
running system (real broker, databases, services; SQLite and PostgreSQL), validated with ``fhir.resources``
(its R4B models), minimised per reader exactly as the JSON pack, and refused to anyone else."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from contracts.handover import HandoverPack
from services.handover.domain.disclosure import disclose
from services.handover.domain.fhir import NHS_NUMBER
from tests.support.polling import eventually
from tests.support.system import RunningSystem
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

FHIR_JSON = "application/fhir+json"


@pytest.fixture(scope="module")
def demo(system: RunningSystem) -> dict[str, Any]:
    """The demo's release (``ttg demo``: a Durham notice) with every optional section, handed over."""
    notice = release_notice(random.Random(), place="durham", full=True)
    with system.client("release_events", "prison-dmi") as http:
        response = http.post("/v1/release-notices", json=notice)
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]

    def handover() -> dict[str, Any] | None:
        with system.client("handover", "prison-dmi") as http:
            found = http.get("/v1/handovers", params={"notice_id": notice_id}).json()
        return found[0] if found else None

    return {"notice": notice, **eventually(handover, what="the demo handover")}


def fhir(system: RunningSystem, client: str, handover_id: str) -> Any:
    with system.client("handover", client) as http:
        return http.get(f"/v1/handovers/{handover_id}/fhir")


def section_codes(document: dict[str, Any]) -> set[str]:
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    return {section["code"]["coding"][0]["code"] for section in composition["section"]}


def resources(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.hazard("H68")
def test_the_demo_pack_is_a_valid_fhir_document_that_round_trips(system: RunningSystem, demo: dict[str, Any]) -> None:
    response = fhir(system, "prison-dmi", demo["handover_id"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    document = response.json()
    parsed = Bundle.model_validate(document)
    assert Bundle.model_validate_json(parsed.model_dump_json()) == parsed
    assert parsed.type == "document"
    # Every section of the pack, the referrals and the distribution list: nothing left behind.
    assert section_codes(document) == set(demo["pack"]) | {"referrals"}
    (patient,) = resources(document, "Patient")
    assert {"system": NHS_NUMBER, "value": demo["notice"]["nhs_number"]} in patient["identifier"]
    assert len(resources(document, "MedicationStatement")) == len(demo["notice"]["medications"])
    tasks = {t["identifier"][0]["value"]: t["status"] for t in resources(document, "Task")}
    assert tasks == {r["referral_id"]: r["status"] for r in demo["referrals"]}
    assert len(resources(document, "ServiceRequest")) == len(demo["referrals"])
    # The same version read again is the same document.
    assert fhir(system, "prison-dmi", demo["handover_id"]).json() == document


@pytest.mark.hazard("H67")
@pytest.mark.parametrize("client", ["gp-A99001", "cmht-dur", "probation-dur"])
def test_an_agency_bundle_holds_no_section_its_kind_may_not_see(
    system: RunningSystem, demo: dict[str, Any], client: str
) -> None:
    kind = {"gp-A99001": "gp_practice", "cmht-dur": "community_mental_health_team",
            "probation-dur": "probation_delivery_unit"}[client]
    response = fhir(system, client, demo["handover_id"])
    assert response.status_code == 200, response.text
    document = response.json()
    Bundle.model_validate(document)
    allowed = set(disclose(HandoverPack.model_validate(demo["pack"]), kind))
    with system.client("handover", client) as http:
        as_json = http.get(f"/v1/handovers/{demo['handover_id']}").json()
    assert section_codes(document) == allowed | {"referrals"} == set(as_json["sections"]) | {"referrals"}
    text = json.dumps(document)
    mental_health = demo["notice"]["mental_health"]
    if "mental_health" not in allowed:  # a GP's summary and probation's risks hold no crisis plan
        assert mental_health["crisis_plan"] not in text and mental_health["early_warning_signs"] not in text
    if "medications" not in allowed:
        assert not resources(document, "MedicationStatement")
        assert all(m["name"] not in text for m in demo["notice"]["medications"])
    # Its own referral only: another agency's answers are not its business.
    own = {r["referral_id"] for r in as_json["referrals"]}
    assert {t["identifier"][0]["value"] for t in resources(document, "Task")} == own and len(own) == 1


@pytest.mark.hazard("H69")
def test_another_organisation_gets_404_and_every_read_is_audited(
    system: RunningSystem, demo: dict[str, Any]
) -> None:
    handover_id = demo["handover_id"]
    for client in ("gp-A99003", "cmht-bhm", "prison-bmi"):
        refused = fhir(system, client, handover_id)
        absent = fhir(system, client, str(uuid.uuid4()))
        assert refused.status_code == absent.status_code == 404, (client, refused.text)
        assert refused.json()["title"] == absent.json()["title"]
        assert demo["notice"]["family_name"] not in refused.text
    assert fhir(system, "operator", handover_id).status_code == 403
    assert fhir(system, None, handover_id).status_code == 401  # type: ignore[arg-type]
    with system.client("handover", "operator") as http:
        records = http.get("/v1/audit", params={"subject": demo["notice"]["prison_number"], "limit": 1000}).json()
    reads = [r for r in records if r["resource_id"] == handover_id and r["details"].get("format") == "fhir"]
    assert {(r["actor"], r["outcome"]) for r in reads} >= {
        ("prison-dmi", "ok"), ("gp-A99003", "denied"), ("prison-bmi", "denied")
    }
