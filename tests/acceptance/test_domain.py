"""Issue 4 acceptance: handover packs that carry care across the gate, on real parts (broker, databases, HTTP,
a real webhook receiver). Runs once on SQLite files and once on PostgreSQL.

The journey: a notice -> packs to the GP practice, the mental-health team and probation -> the mental-health
team rejects -> re-routed to RECONNECT, which accepts with an appointment -> probation confirms -> the release
date is brought forward -> amended packs delivered after the originals -> readiness done. Then: a
cancelled release is withdrawn from its recipients; a person of no fixed abode and no GP is still routed in
the right area.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from services.common.topics import HANDOVER_EVENTS
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.receiver import Received
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, client_for_path
from ttg.synthetic import custody_event, release_notice

pytestmark = pytest.mark.acceptance

DURHAM_FIRST = {"A99001", "CMHT-DUR", "PDU-DUR"}


# --- helpers ---------------------------------------------------------------------------------------------


def post(system: RunningSystem, service: str, path: str, body: dict[str, Any]) -> httpx.Response:
    with system.client(service, as_client=client_for_path(path)) as client:
        return client.post(path, json=body)


def get(system: RunningSystem, service: str, path: str, **params: Any) -> Any:
    with system.client(service, as_client=client_for_path(path)) as client:
        response = client.get(path, params=params)
    response.raise_for_status()
    return response.json()


def open_handover(system: RunningSystem, notice: dict[str, Any]) -> dict[str, Any]:
    response = post(system, "release_events", "/v1/release-notices", notice)
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]
    found = eventually(
        lambda: get(system, "handover", "/v1/handovers", notice_id=notice_id),
        what="the handover of the notice",
    )
    return found[0]  # type: ignore[no-any-return]


def handover(system: RunningSystem, handover_id: str) -> dict[str, Any]:
    return get(system, "handover", f"/v1/handovers/{handover_id}")  # type: ignore[no-any-return]


def webhooks(system: RunningSystem, handover_id: str, message_type: str | None = None) -> list[Received]:
    return [
        item
        for item in system.receiver.for_handover(handover_id)
        if message_type is None or item.json["type"] == message_type
    ]


def wait_for_webhooks(system: RunningSystem, handover_id: str, message_type: str, agencies: set[str]) -> dict[str, Any]:
    """The verified ``data`` each of ``agencies`` received in a ``message_type`` webhook, once all have
    one."""

    def arrived() -> dict[str, Any] | None:
        found = {item.agency_code: item for item in webhooks(system, handover_id, message_type)}
        return found if agencies <= set(found) else None

    found = eventually(arrived, what=f"{message_type} webhooks to {sorted(agencies)}")
    data = {}
    for code, item in found.items():
        verified = Webhook(system.secrets[code]).verify(item.body, item.headers)
        data[code] = verified["data"]
    return data


def answer(system: RunningSystem, agency: str, referral_id: str, body: dict[str, Any]) -> httpx.Response:
    return post(system, "handover", f"/v1/agencies/{agency}/referrals/{referral_id}/answers", body)


def referral_of(view: dict[str, Any], agency: str) -> dict[str, Any]:
    return next(r for r in view["referrals"] if r["agency_code"] == agency)


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=UTC).isoformat()


def events_on_handover_topic(system: RunningSystem, prison_number: str) -> list[dict[str, Any]]:
    return [
        json.loads(record.value)
        for record in read_topic(system.bootstrap_servers, HANDOVER_EVENTS)
        if record.key == prison_number.encode()
    ]


# --- the journey -----------------------------------------------------------------------------------------


@pytest.mark.hazard("H21", "H24")
def test_journey_from_notice_to_ready(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham", release_in_days=10, supply_days=28, full=True)
    del notice["substance_misuse"]  # Durham's test directory has no substance-misuse service
    release_day = date.fromisoformat(notice["release"]["date"])
    opened = open_handover(system, notice)
    handover_id = opened["handover_id"]

    # Packs reach the GP practice, the mental-health team and probation, each with only its sections.
    issued = wait_for_webhooks(system, handover_id, "handover.pack.issued", DURHAM_FIRST)
    assert set(issued) == DURHAM_FIRST
    gp, cmht, pdu = issued["A99001"], issued["CMHT-DUR"], issued["PDU-DUR"]
    assert "registration request" in gp["reason"] and "DH" in gp["reason"]
    assert gp["pack"]["gp_practice"]["registration_requested_from"]["code"] == "A99001"
    assert gp["pack"]["mental_health_summary"]["risk_flags"] == ["self_harm", "suicide"]
    assert "mental_health" not in gp["pack"] and "crisis_plan" not in json.dumps(gp["pack"])
    assert cmht["pack"]["mental_health"]["crisis_plan"] == notice["mental_health"]["crisis_plan"]
    assert cmht["pack"]["legal_information"]["section_117_aftercare"] is True
    assert [m["name"] for m in cmht["pack"]["medications"]] == [m["name"] for m in notice["medications"]]
    assert pdu["pack"]["reporting_instructions"]["office"] == notice["reporting_instructions"]["office"]
    assert pdu["pack"]["risk_flags"] == ["self_harm", "suicide"]
    assert pdu["pack"]["legal_information"] == {"licence_conditions": notice["legal_information"]["licence_conditions"]}
    for clinical in (
        "medications",
        "mental_health",
        "mental_health_summary",
        "allergies_and_adverse_reactions",
    ):
        assert clinical not in pdu["pack"], clinical
    assert cmht["pack"]["contacts"]["reconnect_navigator"]["name"] == notice["reconnect_navigator"]["name"]
    view = handover(system, handover_id)
    listed = {item["agency_code"]: item for item in view["pack"]["distribution_list"]}
    assert set(listed) == DURHAM_FIRST and all(item["reason"] for item in listed.values())
    assert view["readiness"]["status"] == "pending"

    # The mental-health team rejects: re-routed to RECONNECT, never dropped.
    bad = answer(system, "CMHT-DUR", cmht["referral_id"], {"answer": "rejected"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason_code"
    assert answer(system, "PDU-DUR", cmht["referral_id"], {"answer": "received"}).status_code == 404
    rejected = answer(
        system,
        "CMHT-DUR",
        cmht["referral_id"],
        {"answer": "rejected", "reason_code": "criteria_not_met", "reason_text": "Needs forensic team"},
    )
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["rerouted_to"] == "RECONNECT-DUR"
    rerouted = wait_for_webhooks(system, handover_id, "handover.referral.rerouted", {"RECONNECT-DUR"})["RECONNECT-DUR"]
    assert "CMHT-DUR rejected" in rerouted["reason"]
    assert rerouted["pack"]["mental_health"]["urgency"] == "urgent"

    # RECONNECT accepts with a first appointment; the GP registers the person; probation confirms.
    appointment = at(release_day + timedelta(days=2), 10)
    no_time = answer(system, "RECONNECT-DUR", rerouted["referral_id"], {"answer": "accepted"})
    assert no_time.status_code == 422 and no_time.json()["errors"][0]["field"] == "first_appointment"
    accepted = answer(
        system,
        "RECONNECT-DUR",
        rerouted["referral_id"],
        {"answer": "accepted", "first_appointment": {"at": appointment, "place": "Durham hub"}},
    )
    assert accepted.status_code == 201, accepted.text
    retried = answer(
        system,
        "RECONNECT-DUR",
        rerouted["referral_id"],
        {"answer": "accepted", "first_appointment": {"at": appointment, "place": "Durham hub"}},
    )
    assert retried.status_code == 200 and retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == accepted.json()
    assert answer(system, "A99001", gp["referral_id"], {"answer": "accepted"}).status_code == 201
    reporting = {
        "office": "Durham Probation Office (fictitious)",
        "report_at": at(release_day, 15),
        "practitioner": "Probation officer Example",
    }
    confirmed = answer(
        system, "PDU-DUR", pdu["referral_id"], {"answer": "confirmed", "reporting_instructions": reporting}
    )
    assert confirmed.status_code == 201, confirmed.text
    assert handover(system, handover_id)["readiness"]["status"] == "done"

    # Every answer is an event on handover.events.v1.
    answered = eventually(
        lambda: (
            [
                e
                for e in events_on_handover_topic(system, notice["prison_number"])
                if e["type"] == "uk.nhs.ttg.handover.referral.answered"
            ]
            or None
        ),
        what="answer events",
    )
    eventually(
        lambda: (
            len(
                [
                    e
                    for e in events_on_handover_topic(system, notice["prison_number"])
                    if e["type"] == "uk.nhs.ttg.handover.referral.answered"
                ]
            )
            == 4
        ),
        what="four answers",
    )
    assert {e["data"]["answer"] for e in answered} <= {"rejected", "accepted", "confirmed"}

    # The release date is brought forward: amended packs reach every live recipient, after the originals.
    new_day = release_day - timedelta(days=3)
    change = custody_event(
        notice["prison_number"], "release_date_changed", sequence=5, release_date=new_day.isoformat()
    )
    response = post(system, "release_events", "/v1/custody-events", change)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["status_url"]
    with system.client("release_events") as client:
        eventually(
            lambda: client.get(response.json()["status_url"]).json()["status"] == "published",
            what="the custody event to be published",
        )
    replay = post(system, "release_events", "/v1/custody-events", change)
    assert replay.status_code == 202 and replay.json() == response.json()
    assert replay.headers.get("idempotent-replayed") == "true"
    clash = post(system, "release_events", "/v1/custody-events", {**change, "release_date": release_day.isoformat()})
    assert clash.status_code == 409

    live = {"A99001", "RECONNECT-DUR", "PDU-DUR"}
    amended = wait_for_webhooks(system, handover_id, "handover.pack.amended", live)
    for code, data in amended.items():
        assert data["version"] == 2
        assert {
            "section": "release.date",
            "before": release_day.isoformat(),
            "after": new_day.isoformat(),
        } in data["changes"], code
        assert data["pack"]["release"]["date"] == new_day.isoformat()
    arrivals = system.receiver.for_handover(handover_id)
    for code in live:
        mine = [item.json["type"] for item in arrivals if item.agency_code == code]
        first = "handover.referral.rerouted" if code == "RECONNECT-DUR" else "handover.pack.issued"
        assert mine.index(first) < mine.index("handover.pack.amended"), (code, mine)
    assert not webhooks(system, handover_id, "handover.pack.amended") or "CMHT-DUR" not in {
        item.agency_code for item in webhooks(system, handover_id, "handover.pack.amended")
    }

    # A late, older event is placed in sequence order: a later one decided the date, so it changes nothing.
    late = custody_event(
        notice["prison_number"],
        "release_date_changed",
        sequence=3,
        release_date=(release_day + timedelta(days=5)).isoformat(),
    )
    assert post(system, "release_events", "/v1/custody-events", late).status_code == 202
    logged = eventually(
        lambda: (
            [
                e
                for e in get(system, "handover", f"/v1/people/{notice['prison_number']}/custody-events")
                if e["sequence"] == 3
            ]
            or None
        ),
        what="the late event in the custody-event log",
    )
    assert logged[0]["outcome"] == "superseded" and "sequence 5 decided the release date" in logged[0]["detail"]

    # Readiness done, in the departure lounge too; the agencies' worklists.
    final = handover(system, handover_id)
    assert final["version"] == 2 and final["pack"]["release"]["date"] == new_day.isoformat()
    assert final["readiness"]["status"] == "done", final["readiness"]
    lounge = get(
        system,
        "handover",
        "/v1/establishments/DMI/releases",
        **{"from": (new_day - timedelta(days=1)).isoformat(), "to": new_day.isoformat()},
    )
    mine = [item for item in lounge if item["handover_id"] == handover_id]
    assert mine and mine[0]["readiness"]["status"] == "done"
    assert {i["item"] for i in mine[0]["readiness"]["items"]} >= {
        "gp",
        "medication",
        "mental_health_referral",
        "reporting_instructions",
    }
    worklist = get(system, "handover", "/v1/agencies/RECONNECT-DUR/handovers")
    item = next(w for w in worklist if w["handover_id"] == handover_id)
    assert item["status"] == "accepted" and "reporting_instructions" not in item["sent"]["pack"]
    assert all(w["handover_id"] != handover_id for w in get(system, "handover", "/v1/agencies/CMHT-DUR/handovers"))


@pytest.mark.hazard("H22")
def test_a_cancelled_release_is_withdrawn_from_every_recipient(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham")
    handover_id = open_handover(system, notice)["handover_id"]
    wait_for_webhooks(system, handover_id, "handover.pack.issued", DURHAM_FIRST)

    cancel = custody_event(notice["prison_number"], "release_cancelled", sequence=1, detail="Further charges")
    assert post(system, "release_events", "/v1/custody-events", cancel).status_code == 202
    withdrawn = wait_for_webhooks(system, handover_id, "handover.pack.withdrawn", DURHAM_FIRST)
    for code, data in withdrawn.items():
        assert "release cancelled" in data["note"] and "Further charges" in data["note"]
        assert set(data["pack"]) == {"patient_demographics", "release"}, code
        mine = [item.json["type"] for item in system.receiver.for_handover(handover_id) if item.agency_code == code]
        assert mine == ["handover.pack.issued", "handover.pack.withdrawn"]
    view = eventually(
        lambda: (v := handover(system, handover_id))["state"] == "withdrawn" and v,
        what="the handover to be withdrawn",
    )
    assert {r["status"] for r in view["referrals"]} == {"cancelled"}
    late = answer(system, "A99001", referral_of(view, "A99001")["referral_id"], {"answer": "received"})
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("place", "authority", "establishment", "gp", "mental_health", "described"),
    [
        ("teesside", None, "HHI", "A99002", "RECONNECT-TEES", "establishment HHI"),
        ("birmingham", "Birmingham", "DMI", "A99003", "CMHT-BHM", "local authority Birmingham"),
    ],
)
@pytest.mark.hazard("H01", "H28")
def test_no_fixed_abode_and_no_gp_is_still_routed_in_the_right_area(
    system: RunningSystem,
    place: str,
    authority: str | None,
    establishment: str,
    gp: str,
    mental_health: str,
    described: str,
) -> None:
    notice = release_notice(
        seeded_rng(),
        place=place,
        no_fixed_abode=True,
        last_known_local_authority=authority,
        establishment=establishment,
    )
    assert "registered_gp" not in notice
    handover_id = open_handover(system, notice)["handover_id"]
    issued = wait_for_webhooks(system, handover_id, "handover.pack.issued", {gp, mental_health})
    assert issued[gp]["referral_kind"] == "gp_registration"
    assert issued[gp]["pack"]["gp_practice"]["registration_needed"] is True
    assert described in issued[gp]["reason"]
    assert issued[mental_health]["referral_kind"] == "mental_health"
    assert issued[mental_health]["pack"]["mental_health"]["consent_to_share"] is True


@pytest.mark.hazard("H29")
def test_without_consent_no_mental_health_referral_and_the_prison_is_told(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham", consent_to_share=False)
    handover_id = open_handover(system, notice)["handover_id"]
    issued = wait_for_webhooks(system, handover_id, "handover.pack.issued", {"A99001", "PDU-DUR", "PH-DMI"})
    assert "No consent to share" in issued["PH-DMI"]["note"]
    assert "mental_health_summary" not in issued["A99001"]["pack"]
    assert "risk_flags" not in issued["PDU-DUR"]["pack"]
    view = handover(system, handover_id)
    assert view["pack"]["mental_health"]["referral"] == "withheld"
    assert "CMHT-DUR" not in {r["agency_code"] for r in view["referrals"]}
    assert next(i for i in view["readiness"]["items"] if i["item"] == "mental_health_referral")["status"] == "at_risk"
    assert all(item.agency_code != "CMHT-DUR" for item in system.receiver.for_handover(handover_id))


@pytest.mark.hazard("H24")
def test_a_rejection_with_no_other_agency_is_escalated_to_the_prison(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="birmingham", substance_misuse=True)
    handover_id = open_handover(system, notice)["handover_id"]
    issued = wait_for_webhooks(
        system, handover_id, "handover.pack.issued", {"A99003", "CMHT-BHM", "SMS-BHM", "PDU-BHM"}
    )
    assert issued["SMS-BHM"]["pack"]["substance_misuse"]["current_treatment"] == "Methadone maintenance"
    assert "mental_health" not in issued["SMS-BHM"]["pack"]
    outcome = answer(
        system,
        "CMHT-BHM",
        issued["CMHT-BHM"]["referral_id"],
        {"answer": "rejected", "reason_code": "capacity"},
    )
    assert outcome.status_code == 201 and outcome.json()["escalated_to"] == ["PH-BMI"]
    escalated = wait_for_webhooks(system, handover_id, "handover.referral.escalated", {"PH-BMI"})["PH-BMI"]
    assert "CMHT-BHM" in escalated["note"]
    view = handover(system, handover_id)
    item = next(i for i in view["readiness"]["items"] if i["item"] == "mental_health_referral")
    assert item["status"] == "at_risk" and "escalated" in item["detail"]


@pytest.mark.hazard("H28")
def test_the_routing_directory_is_managed_through_the_admin_api(system: RunningSystem) -> None:
    listed = {agency["code"]: agency for agency in get(system, "handover", "/v1/directory/agencies")}
    assert listed["PH-DMI"]["establishments"] == ["DMI"] and listed["A99001"]["source"] == "file"
    body = {
        "code": "CMHT-NEW",
        "kind": "community_mental_health_team",
        "name": "New team (fictitious)",
        "coverage": {"postcode_districts": ["ZZ9"], "local_authorities": []},
        "eligibility": {"min_age": 18},
    }
    with system.client("handover", as_client="operator") as client:
        created = client.put("/v1/directory/agencies/CMHT-NEW", json=body)
        assert created.status_code == 201, created.text
        assert client.put("/v1/directory/agencies/CMHT-NEW", json=body).status_code == 200
        invalid = client.put("/v1/directory/agencies/CMHT-X", json={**body, "code": "CMHT-X", "kind": "florist"})
        assert invalid.status_code == 422 and invalid.headers["content-type"].startswith("application/problem+json")
        with_webhook = client.put("/v1/directory/agencies/CMHT-NEW", json={**body, "webhook": {"url": "x"}})
        assert with_webhook.status_code == 422 and with_webhook.json()["errors"][0]["field"] == "webhook.url"
        assert client.get("/v1/directory/agencies/CMHT-NEW").json()["source"] == "api"
        assert client.delete("/v1/directory/agencies/CMHT-NEW").status_code == 204
        assert client.get("/v1/directory/agencies/CMHT-NEW").json()["active"] is False
        assert client.delete("/v1/directory/agencies/NOPE").status_code == 404


def test_invalid_custody_events_name_the_field(system: RunningSystem) -> None:
    bad = custody_event("A1234BC", "release_date_changed", sequence=1)
    response = post(system, "release_events", "/v1/custody-events", bad)
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")
    unknown = custody_event("A1234BC", "recalled", sequence=1, recall_reason="breach")
    response = post(system, "release_events", "/v1/custody-events", unknown)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"recall_reason"}


@pytest.mark.hazard("H22")
def test_a_transfer_amends_a_recall_closes_and_a_later_notice_opens_a_new_case(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham")
    handover_id = open_handover(system, notice)["handover_id"]
    wait_for_webhooks(system, handover_id, "handover.pack.issued", DURHAM_FIRST)

    contact = {
        "name": "Holme House Healthcare",
        "role": "Discharge coordinator",
        "phone": "0300 000 0003",
        "email": "healthcare.hhi@example.org",
    }
    transfer = custody_event(
        notice["prison_number"],
        "transfer",
        sequence=1,
        establishment_code="HHI",
        from_establishment_code="DMI",
        prison_contact=contact,
    )
    assert post(system, "release_events", "/v1/custody-events", transfer).status_code == 202
    amended = wait_for_webhooks(system, handover_id, "handover.pack.amended", DURHAM_FIRST)
    for code, data in amended.items():
        changed = {change["section"] for change in data["changes"]}
        assert {"release.establishment_code", "contacts.prison_healthcare"} <= changed, code
        assert data["pack"]["contacts"]["prison_healthcare"]["email"] == contact["email"]
    release_day = notice["release"]["date"]
    lounge = get(system, "handover", "/v1/establishments/HHI/releases", **{"from": release_day, "to": release_day})
    assert handover_id in {item["handover_id"] for item in lounge}

    recall = custody_event(notice["prison_number"], "recalled", sequence=2, establishment_code="HHI")
    assert post(system, "release_events", "/v1/custody-events", recall).status_code == 202
    withdrawn = wait_for_webhooks(system, handover_id, "handover.pack.withdrawn", DURHAM_FIRST)
    assert all("recalled" in data["note"] for data in withdrawn.values())
    eventually(lambda: handover(system, handover_id)["state"] == "closed", what="the case to be closed")

    later = {**notice, "establishment_code": "HHI"}
    reopened = open_handover(system, later)
    assert reopened["handover_id"] != handover_id and reopened["state"] == "open" and reopened["version"] == 1
    wait_for_webhooks(system, reopened["handover_id"], "handover.pack.issued", DURHAM_FIRST)


def test_a_new_notice_for_a_person_with_an_open_handover_supersedes_it(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham")
    first = open_handover(system, notice)["handover_id"]
    wait_for_webhooks(system, first, "handover.pack.issued", DURHAM_FIRST)
    other_type = "parole" if notice["release"]["type"] != "parole" else "end_of_sentence"
    corrected = {**notice, "release": {**notice["release"], "type": other_type}}  # the same again: a duplicate
    second = open_handover(system, corrected)["handover_id"]
    withdrawn = wait_for_webhooks(system, first, "handover.pack.withdrawn", DURHAM_FIRST)
    assert all("superseded" in data["note"] for data in withdrawn.values())
    wait_for_webhooks(system, second, "handover.pack.issued", DURHAM_FIRST)
    assert handover(system, first)["state"] == "withdrawn" and handover(system, second)["state"] == "open"


@pytest.mark.hazard("H74")
def test_the_lounge_lists_people_already_released_only_when_asked(system: RunningSystem) -> None:
    """``state=released``: the people released in the last 14 days with the readiness they left with; the
    default list (still to be released) no longer shows them; another prison's healthcare still gets 404."""
    today = datetime.now(UTC).date()
    notice = release_notice(place="durham", release_in_days=0, today=today)
    opened = open_handover(system, notice)
    released = custody_event(notice["prison_number"], "released", sequence=1, reason="released")
    assert post(system, "release_events", "/v1/custody-events", released).status_code == 202
    eventually(lambda: handover(system, opened["handover_id"])["state"] == "released", what="the release applied")

    gone = get(system, "handover", "/v1/establishments/DMI/releases", state="released")
    [mine] = [item for item in gone if item["handover_id"] == opened["handover_id"]]
    assert mine["prison_number"] == notice["prison_number"] and mine["readiness"]["items"]
    still_to_go = get(
        system,
        "handover",
        "/v1/establishments/DMI/releases",
        **{"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()},
    )
    assert all(item["handover_id"] != opened["handover_id"] for item in still_to_go)
    long_ago = get(
        system,
        "handover",
        "/v1/establishments/DMI/releases",
        state="released",
        **{"from": (today - timedelta(days=30)).isoformat(), "to": (today - timedelta(days=20)).isoformat()},
    )
    assert all(item["handover_id"] != opened["handover_id"] for item in long_ago)
    with system.client("handover", "prison-bmi") as other:
        assert other.get("/v1/establishments/DMI/releases", params={"state": "released"}).status_code == 404
    with system.client("handover", "prison-dmi") as own:
        assert own.get("/v1/establishments/DMI/releases", params={"state": "closed"}).status_code == 422
