"""Trust, audit part: who read what is on the record, a subject-access export holds everything, a medication gap
is told, and the departure lounge answers a busy day a page at a time. Real parts, on SQLite and PostgreSQL.

The notifier runs on its test clock (``services/notifier/adapters/offset_clock.py``) so that an unanswered
referral escalates without waiting 72 hours.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from services.notifier.adapters.offset_clock import write_offset
from tests.conftest import BACKENDS, require_backend
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, start_system, stop_system
from ttg.synthetic import custody_event, release_notice

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
DURHAM_FIRST = {"A99001", "CMHT-DUR", "PDU-DUR"}


@pytest.fixture(scope="module", params=BACKENDS)
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"trust-audit-{backend}")
    clock_file = tmp / "clock-offset"
    extra_env = {"TTG_NOTIFIER_TEST_CLOCK": "1", "TTG_NOTIFIER_TEST_CLOCK_FILE": str(clock_file)}
    running = start_system(tmp, backend, extra_env=extra_env)
    running.clock_file = clock_file  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        stop_system(running)


# --- helpers ---------------------------------------------------------------------------------------------


def call(system: RunningSystem, service: str, client: str, path: str, **params: Any) -> Any:
    with system.client(service, as_client=client) as http:
        response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def submit(system: RunningSystem, notice: dict[str, Any]) -> dict[str, Any]:
    """POST a notice as its prison; the handover it opens, as the prison sees it."""
    with system.client("release_events", as_client="prison-all") as http:
        response = http.post("/v1/release-notices", json=notice)
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]
    found = eventually(
        lambda: call(system, "handover", "prison-all", "/v1/handovers", notice_id=notice_id),
        what="the handover of the notice",
    )
    return found[0]  # type: ignore[no-any-return]


def verified(system: RunningSystem, handover_id: str, message_type: str, agencies: set[str]) -> dict[str, Any]:
    """The verified data each of ``agencies`` received in a ``message_type`` webhook about the handover."""

    def arrived() -> dict[str, Any] | None:
        found = {
            item.agency_code: item
            for item in system.receiver.for_handover(handover_id)
            if item.json["type"] == message_type
        }
        return found if agencies <= set(found) else None

    found = eventually(arrived, what=f"{message_type} to {sorted(agencies)}")
    return {code: Webhook(system.secrets[code]).verify(item.body, item.headers)["data"] for code, item in found.items()}


def audit_trail(system: RunningSystem, service: str) -> list[dict[str, Any]]:
    """The whole audit trail of a service, as an operator pages through it."""
    records: list[dict[str, Any]] = []
    while True:
        page = call(
            system, service, "operator", "/v1/audit", after_seq=records[-1]["seq"] if records else 0, limit=1000
        )
        records += page
        if len(page) < 1000:
            return records


def answer(system: RunningSystem, agency: str, referral_id: str, body: dict[str, Any]) -> None:
    with system.client("handover", as_client=f"agency-{agency}") as http:
        response = http.post(f"/v1/agencies/{agency}/referrals/{referral_id}/answers", json=body)
    assert response.status_code == 201, response.text


def referral_to(view: dict[str, Any], agency: str) -> str:
    return next(r["referral_id"] for r in view["referrals"] if r["agency_code"] == agency)


# --- reads on the record ---------------------------------------------------------------------------------


@pytest.mark.hazard("H53")
def test_a_worklist_read_and_a_lounge_read_are_audited_with_the_readers_identity(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham", release_in_days=12)
    opened = submit(system, notice)
    referral = referral_to(opened, "CMHT-DUR")
    worklist = call(system, "handover", "agency-CMHT-DUR", "/v1/agencies/CMHT-DUR/handovers")
    assert referral in {item["referral_id"] for item in worklist}
    day = notice["release"]["date"]
    lounge = call(system, "handover", "prison-dmi", "/v1/establishments/DMI/releases", **{"from": day, "to": day})
    assert opened["handover_id"] in {item["handover_id"] for item in lounge}
    log = call(system, "handover", "prison-dmi", f"/v1/people/{notice['prison_number']}/custody-events")
    assert log == []

    trail = audit_trail(system, "handover")
    worklist_reads = [r for r in trail if r["action"] == "worklist.read" and referral in r["details"]["referral_ids"]]
    assert [(r["actor"], r["actor_role"], r["actor_organisation"], r["resource_id"]) for r in worklist_reads] == [
        ("agency-CMHT-DUR", "agency", "CMHT-DUR", "CMHT-DUR")
    ]
    lounge_reads = [
        r for r in trail if r["action"] == "releases.read" and opened["handover_id"] in r["details"]["handover_ids"]
    ]
    assert [(r["actor"], r["actor_role"], r["actor_organisation"], r["resource_id"]) for r in lounge_reads] == [
        ("prison-dmi", "prison_healthcare", "DMI-HC", "DMI")
    ]
    log_reads = [r for r in trail if r["action"] == "custody_log.read" and r["subject"] == notice["prison_number"]]
    assert [(r["actor"], r["details"]) for r in log_reads] == [("prison-dmi", {"events": 0})]
    # what a read disclosed is named by ids and counts, never by the person's details
    for record in worklist_reads + lounge_reads:
        text = json.dumps(record)
        assert notice["prison_number"] not in text and notice["family_name"] not in text
    # a refused read discloses nothing and records no read
    with system.client("handover", as_client="prison-bmi") as http:
        assert http.get("/v1/establishments/DMI/releases").status_code == 404
    assert not [
        r for r in audit_trail(system, "handover") if r["action"] == "releases.read" and r["actor"] == "prison-bmi"
    ]


@pytest.mark.hazard("H53")
def test_custody_event_status_dead_letters_escalations_and_referrals_reads_are_audited(
    system: RunningSystem,
) -> None:
    notice = release_notice(seeded_rng(), place="durham", release_in_days=12)
    opened = submit(system, notice)
    later = (date.fromisoformat(notice["release"]["date"]) + timedelta(days=1)).isoformat()
    event = custody_event(notice["prison_number"], "release_date_changed", sequence=1, release_date=later)
    with system.client("release_events", as_client="prison-dmi") as http:
        accepted = http.post("/v1/custody-events", json=event)
        assert accepted.status_code == 202, accepted.text
        event_id = accepted.json()["custody_event_id"]
        assert http.get(f"/v1/custody-events/{event_id}").status_code == 200
    [status_read] = [
        r
        for r in audit_trail(system, "release_events")
        if r["action"] == "custody_event.read" and r["resource_id"] == event_id
    ]
    assert (status_read["actor"], status_read["actor_role"], status_read["actor_organisation"]) == (
        "prison-dmi",
        "prison_healthcare",
        "DMI-HC",
    )

    handover_id = opened["handover_id"]
    call(system, "notifier", "operator", "/v1/escalations", handover_id=handover_id)
    call(system, "notifier", "operator", "/v1/referrals", handover_id=handover_id)
    call(system, "notifier", "operator", "/v1/delivery-audit", handover_id=handover_id)
    call(system, "notifier", "operator", "/v1/dead-letters")
    trail = audit_trail(system, "notifier")
    reads = {r["action"] for r in trail if r["actor"] == "operator" and r["resource_id"] == handover_id}
    assert reads >= {"escalations.read", "referrals.read", "delivery_audit.read"}
    dead = [r for r in trail if r["action"] == "dead_letters.read"]
    assert dead and dead[-1]["actor_role"] == "operator" and "webhook_ids" in dead[-1]["details"]


# --- subject access ---------------------------------------------------------------------------------------

EXPECTED_TABLES = {
    "release_events": {"release_notice", "custody_event", "outbox", "audit_record"},
    "handover": {
        "handover",
        "handover_version",
        "referral",
        "referral_answer",
        "custody_event_log",
        "person",
        "outbox",
        "inbox",
        "audit_record",
    },
    "notifier": {
        "delivery",
        "delivery_attempt",
        "handover_fact",
        "referral_watch",
        "escalation",
        "delivery_audit",
        "outbox",
        "inbox",
        "audit_record",
    },
}


def export(system: RunningSystem, out: Path, nhs_number: str) -> dict[str, Any]:
    urls = [f"--database-url={name}={system.stack.database_url(name)}" for name in EXPECTED_TABLES]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ttg.cli",
            "subject-access",
            "export",
            *urls,
            "--operator",
            "dpo-test",
            "--nhs-number",
            nhs_number,
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())  # type: ignore[no-any-return]


@pytest.mark.hazard("H19", "H54")
def test_a_subject_access_export_holds_rows_from_every_table_of_a_persons_journey(
    system: RunningSystem, tmp_path: Path
) -> None:
    notice = release_notice(seeded_rng(), place="durham", release_in_days=10)
    bystander = release_notice(seeded_rng(), place="durham", release_in_days=10)
    opened = submit(system, notice)
    submit(system, bystander)
    handover_id = opened["handover_id"]
    verified(system, handover_id, "handover.pack.issued", DURHAM_FIRST)
    appointment = date.fromisoformat(notice["release"]["date"]) + timedelta(days=2)
    answer(
        system,
        "CMHT-DUR",
        referral_to(opened, "CMHT-DUR"),
        {"answer": "accepted", "first_appointment": {"at": f"{appointment}T10:00:00+00:00", "place": "Durham hub"}},
    )
    later = (date.fromisoformat(notice["release"]["date"]) + timedelta(days=1)).isoformat()
    event = custody_event(notice["prison_number"], "release_date_changed", sequence=1, release_date=later)
    with system.client("release_events", as_client="prison-dmi") as http:
        assert http.post("/v1/custody-events", json=event).status_code == 202
    eventually(
        lambda: call(system, "handover", "prison-dmi", f"/v1/people/{notice['prison_number']}/custody-events"),
        what="the custody event in handover's log",
    )

    def watched() -> bool:
        found = call(system, "notifier", "operator", "/v1/referrals", handover_id=handover_id)
        return any(item["delivered_at"] for item in found if item["agency_code"] == "A99001")

    eventually(watched, what="the GP's referral to be watched")
    write_offset(system.clock_file, 73 * 3600)  # type: ignore[attr-defined]
    eventually(
        lambda: call(system, "notifier", "operator", "/v1/escalations", handover_id=handover_id),
        what="the unanswered referrals to escalate",
    )

    day = notice["release"]["date"]
    call(system, "handover", "prison-dmi", "/v1/establishments/DMI/releases", **{"from": day, "to": later})
    found = export(system, tmp_path / "sar.json", notice["nhs_number"])
    assert found["prison_numbers"] == [notice["prison_number"]]
    for service, tables in EXPECTED_TABLES.items():
        held = found["services"][service]
        assert held["not_searched"] == [], service
        empty = sorted(name for name in tables if not held.get(name))
        assert empty == [], f"{service}: no rows in {empty}"
    handover_tables = found["services"]["handover"]
    assert {row["id"] for row in handover_tables["handover"]} == {handover_id}
    assert {row["agency_code"] for row in handover_tables["referral"]} >= DURHAM_FIRST
    assert {row["handover_id"] for row in found["services"]["notifier"]["escalation"]} == {handover_id}
    reads = [row for row in handover_tables["audit_record"] if row["action"] == "releases.read"]
    assert reads and all(handover_id in row["details"]["handover_ids"] for row in reads)  # who saw the person
    text = json.dumps(found)
    assert bystander["prison_number"] not in text and bystander["nhs_number"] not in text


# --- H23, end to end -----------------------------------------------------------------------------------------


@pytest.mark.hazard("H23")
def test_a_short_medication_supply_is_flagged_in_the_pack_told_to_the_prescribers_and_keeps_the_prison_at_risk(
    system: RunningSystem,
) -> None:
    notice = release_notice(seeded_rng(), place="durham", release_in_days=9, supply_days=2)
    opened = submit(system, notice)
    handover_id = opened["handover_id"]

    def gaps(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [alert for alert in alerts if alert["code"] == "medication_supply_gap"]

    in_pack = gaps(opened["pack"]["safety_alerts"])
    assert len(in_pack) == len(notice["medications"]) and all("2 days supplied" in a["detail"] for a in in_pack)
    sent = verified(system, handover_id, "handover.pack.issued", DURHAM_FIRST)
    for prescriber in ("A99001", "CMHT-DUR"):
        assert gaps(sent[prescriber]["pack"]["safety_alerts"]) == in_pack, prescriber
    assert "safety_alerts" not in sent["PDU-DUR"]["pack"]  # probation gets no clinical detail
    medication = next(i for i in opened["readiness"]["items"] if i["item"] == "medication")
    assert medication["status"] != "done" and "runs out" in medication["detail"]
    day = notice["release"]["date"]
    lounge = call(system, "handover", "prison-dmi", "/v1/establishments/DMI/releases", **{"from": day, "to": day})
    [mine] = [item for item in lounge if item["handover_id"] == handover_id]
    assert next(i for i in mine["readiness"]["items"] if i["item"] == "medication")["status"] != "done"
    assert mine["readiness"]["status"] != "done"


# --- the departure lounge, a page at a time -----------------------------------------------------------------


@pytest.mark.hazard("H55")
def test_the_departure_lounge_pages_and_searches_without_losing_a_release(system: RunningSystem) -> None:
    rng = seeded_rng()
    notices = [release_notice(rng, place="durham", release_in_days=27, establishment="HHI") for _ in range(3)]
    opened = {submit(system, notice)["handover_id"]: notice for notice in notices}
    day = notices[0]["release"]["date"]
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] | None = {"from": day, "to": day, "limit": 2}
    url = "/v1/establishments/HHI/releases"
    with system.client("handover", as_client="prison-all") as http:
        while url:
            response = http.get(url, params=params)
            assert response.status_code == 200, response.text
            assert len(response.json()) <= 2
            seen += response.json()
            url, params = response.links.get("next", {}).get("url"), None
    assert [item["handover_id"] for item in seen if item["handover_id"] in opened] and len(seen) >= 3
    assert set(opened) <= {item["handover_id"] for item in seen}
    assert len({item["handover_id"] for item in seen}) == len(seen)  # no release twice
    assert [item["prison_number"] for item in seen] == sorted(item["prison_number"] for item in seen)

    person = notices[1]
    by_number = call(
        system,
        "handover",
        "prison-all",
        "/v1/establishments/HHI/releases",
        **{"from": day, "to": day, "q": person["prison_number"]},
    )
    assert [item["prison_number"] for item in by_number] == [person["prison_number"]]
    by_name = call(
        system,
        "handover",
        "prison-all",
        "/v1/establishments/HHI/releases",
        **{"from": day, "to": day, "q": person["family_name"].lower()},
    )
    assert person["prison_number"] in {item["prison_number"] for item in by_name}
    word = person["family_name"].casefold()
    assert all(word in f"{item['given_name']} {item['family_name']}".casefold() for item in by_name)
    with system.client("handover", as_client="prison-all") as http:
        for bad in ({"cursor": "not-a-cursor"}, {"limit": 501}):
            refused = http.get("/v1/establishments/HHI/releases", params=bad)
            assert refused.status_code == 422 and refused.headers["content-type"].startswith(
                "application/problem+json"
            ), bad
        assert "cursor" in http.get("/v1/establishments/HHI/releases", params={"cursor": "x"}).json()["detail"]
