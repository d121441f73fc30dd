"""Speaking the field's languages: the handover pack as a FHIR R4 document Bundle, read over HTTP from the
running system (real broker, databases, services; SQLite and PostgreSQL), validated with ``fhir.resources``
(its R4B models), minimised per reader exactly as the JSON pack, and refused to anyone else; and one notice
followed by a single trace from the prison's request to the agencies' webhooks."""

from __future__ import annotations

import json
import os
import random
import uuid
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from standardwebhooks.webhooks import Webhook

from contracts.handover import HandoverPack
from services.handover.domain.disclosure import disclose
from services.handover.domain.fhir_model import NHS_NUMBER
from tests.support.polling import eventually
from tests.support.receiver import Received
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, finished_spans, new_secret
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

FHIR_JSON = "application/fhir+json"
DURHAM = {"A99001", "CMHT-DUR", "PDU-DUR"}


@pytest.fixture(scope="module")
def demo(system: RunningSystem) -> dict[str, Any]:
    """The demo's release (``ttg demo``: a Durham notice), delivered to its practice, team and probation."""
    notice = release_notice(seeded_rng(), place="durham")
    with system.client("release_events", "prison-dmi") as http:
        response = http.post("/v1/release-notices", json=notice)
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]

    def handover() -> dict[str, Any] | None:
        with system.client("handover", "prison-dmi") as http:
            found = http.get("/v1/handovers", params={"notice_id": notice_id}).json()
        return found[0] if found else None

    handover_id = eventually(handover, what="the demo handover")["handover_id"]

    def delivered() -> bool | None:
        with system.client("notifier", "prison-dmi") as http:
            found = http.get("/v1/deliveries", params={"handover_id": handover_id}).json()
        return True if {d["agency_code"] for d in found if d["status"] == "delivered"} >= DURHAM else None

    eventually(delivered, what="the demo pack delivered")
    with system.client("handover", "prison-dmi") as http:
        return {"notice": notice, **http.get(f"/v1/handovers/{handover_id}").json()}


def submitted(system: RunningSystem, notice: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    """Submit ``notice`` as the Durham prison's healthcare; the id of the handover it opens."""
    with system.client("release_events", "prison-dmi") as http:
        response = http.post("/v1/release-notices", json=notice, headers=headers)
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]

    def handover_id() -> str | None:
        with system.client("handover", "prison-dmi") as http:
            found = http.get("/v1/handovers", params={"notice_id": notice_id}).json()
        return found[0]["handover_id"] if found else None

    return eventually(handover_id, what="the handover")


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
    # A ServiceRequest and a Task per referral (a referral re-routed while we read may add more later).
    with system.client("handover", "prison-dmi") as http:
        referrals = {r["referral_id"] for r in http.get(f"/v1/handovers/{demo['handover_id']}").json()["referrals"]}
    tasks = {t["identifier"][0]["value"] for t in resources(document, "Task")}
    requests = {r["identifier"][0]["value"] for r in resources(document, "ServiceRequest")}
    assert tasks == requests and demo["referrals"] and tasks <= referrals

    # The same version read again is the same document, but for the referrals, which move with their answers.
    def about_the_pack(bundle: dict[str, Any]) -> list[dict[str, Any]]:
        kinds = ("Task", "ServiceRequest", "Organization", "Composition")
        return [e for e in bundle["entry"] if e["resource"]["resourceType"] not in kinds]

    again = fhir(system, "prison-dmi", demo["handover_id"]).json()
    assert again["id"] == document["id"] and about_the_pack(again) == about_the_pack(document)


@pytest.mark.hazard("H67")
@pytest.mark.parametrize("client", ["gp-A99001", "cmht-dur", "probation-dur"])
def test_an_agency_bundle_holds_no_section_its_kind_may_not_see(
    system: RunningSystem, demo: dict[str, Any], client: str
) -> None:
    kind = {
        "gp-A99001": "gp_practice",
        "cmht-dur": "community_mental_health_team",
        "probation-dur": "probation_delivery_unit",
    }[client]
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
def test_another_organisation_gets_404_and_every_read_is_audited(system: RunningSystem, demo: dict[str, Any]) -> None:
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
        ("prison-dmi", "ok"),
        ("gp-A99003", "denied"),
        ("prison-bmi", "denied"),
    }


@pytest.mark.hazard("H68")
def test_an_agency_that_chose_fhir_receives_a_verified_webhook_whose_bundle_validates(system: RunningSystem) -> None:
    secret = new_secret()
    practice = {
        "code": "A99040",
        "kind": "gp_practice",
        "name": "Interop test practice (fictitious)",
        "coverage": {"postcode_districts": ["NE40"], "local_authorities": []},
        "webhook": {"url": system.receiver.url("A99040"), "secret": secret, "format": "fhir"},
    }
    with system.client("handover", "operator") as http:
        put = http.put("/v1/directory/agencies/A99040", json=practice)
        assert put.status_code == 201, put.text
        assert http.get("/v1/directory/agencies/A99040").json()["webhook"]["format"] == "fhir"
    notice = release_notice(seeded_rng(), place="durham")
    notice["release"]["destination"]["address"]["postcode"] = "NE40 1AA"
    notice.pop("registered_gp", None)
    handover = submitted(system, notice)
    received = eventually(
        lambda: next((w for w in system.receiver.for_handover(handover) if w.agency_code == "A99040"), None),
        what="the webhook to the practice that chose FHIR",
    )
    data = Webhook(secret).verify(received.body, received.headers)["data"]
    document = data["fhir"]
    parsed = Bundle.model_validate(document)
    assert Bundle.model_validate_json(parsed.model_dump_json()) == parsed
    assert section_codes(document) == set(data["pack"]) | {"referrals"}  # exactly the practice's sections
    (task,) = resources(document, "Task")
    assert task["identifier"][0]["value"] == data["referral_id"] and task["status"] == "requested"
    (patient,) = resources(document, "Patient")
    assert {"system": NHS_NUMBER, "value": notice["nhs_number"]} in patient["identifier"]
    # An agency that did not choose FHIR gets the JSON sections only.
    others = [w for w in system.receiver.for_handover(handover) if w.agency_code != "A99040"]
    assert all("fhir" not in w.json["data"] for w in others)


def hex_id(span: dict[str, Any], key: str = "span_id") -> str:
    value = span["context"][key] if key in ("span_id", "trace_id") else span[key]
    return (value or "").removeprefix("0x")


@pytest.mark.hazard("H80")
def test_one_notices_trace_spans_the_three_services_and_the_webhook(system: RunningSystem) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"seed {seed}")
    rng = random.Random(seed)
    trace_id, caller_span = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(64):016x}"
    notice = release_notice(rng, place="durham")
    handover = submitted(system, notice, headers={"traceparent": f"00-{trace_id}-{caller_span}-01"})

    def to_durham() -> list[Received] | None:
        found = system.receiver.for_handover(handover)
        return found if {w.agency_code for w in found} >= DURHAM else None

    webhooks = eventually(to_durham, what="the webhooks to the Durham agencies")
    # Each agency's webhook names the trace in its traceparent header, and the span that sent it.
    contexts = [w.headers["traceparent"].split("-") for w in webhooks]
    assert {trace for _, trace, _, _ in contexts} == {trace_id}
    posts = {span_id for _, _, span_id, _ in contexts}

    def the_trace() -> dict[str, dict[str, Any]] | None:
        """The trace's spans once each POST's line of ancestors reaches the test's own span unbroken."""
        spans = {hex_id(s): s for s in finished_spans(system) if hex_id(s, "trace_id") == trace_id}
        for span_id in posts:
            while span_id != caller_span:
                if span_id not in spans:
                    return None
                span_id = hex_id(spans[span_id], "parent_id")
        return spans

    by_id = eventually(the_trace, what="the spans of the notice's trace, up to the webhook POSTs")
    spans = list(by_id.values())

    def service(span: dict[str, Any]) -> str:
        return str(span["resource"]["attributes"]["service.name"])

    def parent(span: dict[str, Any]) -> dict[str, Any]:
        return by_id[hex_id(span, "parent_id")]

    (received,) = [s for s in spans if s["kind"] == "SpanKind.SERVER" and hex_id(s, "parent_id") == caller_span]
    assert service(received) == "release_events" and received["attributes"]["http.route"] == "/v1/release-notices"
    for span_id in posts:  # each POST: notifier -> handover -> release_events, each step the parent of the next
        post = by_id[span_id]
        assert post["kind"] == "SpanKind.CLIENT" and service(post) == "notifier"
        planned = parent(post)
        assert planned["kind"] == "SpanKind.CONSUMER" and service(planned) == "notifier"
        assert planned["attributes"]["messaging.destination.name"] == "handover.events.v1"
        issued = parent(planned)
        assert service(issued) == "handover"
        applied = issued if issued["kind"] == "SpanKind.CONSUMER" else parent(issued)
        assert applied["kind"] == "SpanKind.CONSUMER" and service(applied) == "handover"
        assert applied["attributes"]["messaging.destination.name"] == "custody.events.v1"
        assert parent(applied) is received
    # No one's identifiers in any span any service exported, even of a request naming the person in its path.
    with system.client("handover", "prison-dmi") as http:
        read = http.get(f"/v1/people/{notice['prison_number']}/custody-events", params={"q": notice["family_name"]})
    assert read.status_code == 200, read.text
    route = "/v1/people/{prison_number}/custody-events"
    eventually(
        lambda: any(s["attributes"].get("http.route") == route for s in finished_spans(system)),
        what="the span of the read by prison number",
    )
    exported = json.dumps(finished_spans(system))
    for personal in (notice["nhs_number"], notice["prison_number"], notice["given_name"], notice["family_name"]):
        assert personal not in exported
