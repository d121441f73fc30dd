"""Issue 9 acceptance, the case lifecycle: custody events in sequence order whatever the arrival order, an event
held until its notice, a date change after a cancellation never silent, corrections that tell only the agencies
concerned, and answers a change invalidates asked again, with escalation re-armed.

On real parts (broker, both database backends, HTTP, a receiver verifying with ``standardwebhooks``). The
notifier runs on its test clock (``services/notifier/adapters/offset_clock.py``) so that the escalation
deadlines of the last scenario can be reached without waiting; the clock only moves forward, so that scenario runs last.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from contracts.envelope import EventType, new_event
from contracts.release_notice import RELEASE_NOTICE_AMENDED_SCHEMA, ReleaseNoticeAmendedV1, ReleaseNoticeV1
from services.common.topics import CUSTODY_EVENTS, HANDOVER_EVENTS
from services.notifier.adapters.offset_clock import write_offset
from tests.conftest import BACKENDS, require_backend
from tests.support.events import publish
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.system import RunningSystem, client_for_path, start_system, stop_system
from ttg.synthetic import custody_event, release_notice

pytestmark = pytest.mark.acceptance

DURHAM = {"A99001", "CMHT-DUR", "PDU-DUR"}


@dataclass
class Lifecycle:
    system: RunningSystem
    clock_file: Path
    offset: float = 0.0

    def notifier_now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance_notifier_to(self, when: datetime) -> None:
        gap = (when - self.notifier_now()).total_seconds()
        if gap > 0:
            self.offset += gap
            write_offset(self.clock_file, self.offset)


@pytest.fixture(scope="module", params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"lifecycle-{backend}")
    clock_file = tmp / "clock-offset"
    write_offset(clock_file, 0.0)
    extra_env = {"TTG_NOTIFIER_TEST_CLOCK": "1", "TTG_NOTIFIER_TEST_CLOCK_FILE": str(clock_file)}
    running = start_system(tmp, backend, extra_env=extra_env)
    try:
        yield Lifecycle(running, clock_file)
    finally:
        stop_system(running)


# --- helpers ---------------------------------------------------------------------------------------------


def post(system: RunningSystem, service: str, path: str, body: dict[str, Any]) -> httpx.Response:
    with system.client(service, as_client=client_for_path(path)) as client:
        return client.post(path, json=body)


def get(system: RunningSystem, service: str, path: str, as_client: str | None = None, **params: Any) -> Any:
    with system.client(service, as_client=as_client or client_for_path(path)) as client:
        response = client.get(path, params=params)
    response.raise_for_status()
    return response.json()


def submit(system: RunningSystem, notice: dict[str, Any]) -> dict[str, Any]:
    response = post(system, "release_events", "/v1/release-notices", notice)
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]
    found = eventually(
        lambda: get(system, "handover", "/v1/handovers", notice_id=notice_id), what="the handover of the notice"
    )
    return found[0]  # type: ignore[no-any-return]


def send_custody_event(system: RunningSystem, event: dict[str, Any]) -> None:
    """POST a custody event and wait until intake has published it (so the next one is behind it)."""
    response = post(system, "release_events", "/v1/custody-events", event)
    assert response.status_code == 202, response.text
    with system.client("release_events") as client:
        eventually(
            lambda: client.get(response.json()["status_url"]).json()["status"] == "published",
            what="the custody event to be published",
        )


def handover(system: RunningSystem, handover_id: str) -> dict[str, Any]:
    return get(system, "handover", f"/v1/handovers/{handover_id}")  # type: ignore[no-any-return]


def custody_log(system: RunningSystem, prison_number: str, count: int) -> dict[int, dict[str, Any]]:
    rows = eventually(
        lambda: len(found := get(system, "handover", f"/v1/people/{prison_number}/custody-events")) >= count and found,
        what=f"{count} custody events in the log",
    )
    return {row["sequence"]: row for row in rows}


def received(system: RunningSystem, handover_id: str, agency: str) -> list[dict[str, Any]]:
    """What ``agency`` received about the handover, verified, in arrival order: (type, data)."""
    secret = system.secrets[agency]
    return [
        {"type": item.json["type"], **Webhook(secret).verify(item.body, item.headers)["data"]}
        for item in system.receiver.for_handover(handover_id)
        if item.agency_code == agency
    ]


def wait_for(system: RunningSystem, handover_id: str, agency: str, webhook_type: str, version: int) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next(
            (
                data
                for data in received(system, handover_id, agency)
                if data["type"] == webhook_type and data["version"] == version
            ),
            None,
        )

    return eventually(found, what=f"{webhook_type} v{version} at {agency}")  # type: ignore[no-any-return]


def holdings(system: RunningSystem, handover_id: str, agencies: set[str]) -> dict[str, Any]:
    """The pack content each agency holds (the last it received), without who the person is."""
    held = {}
    for agency in agencies:
        last = received(system, handover_id, agency)[-1]
        held[agency] = {key: value for key, value in last["pack"].items() if key != "patient_demographics"}
    return held


def same_release_for(other: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """``like`` for the person of ``other``: the same release, another person."""
    person = {key: other[key] for key in ("prison_number", "nhs_number", "given_name", "family_name")}
    return {**like, **person}


def events_on_handover_topic(system: RunningSystem, prison_number: str) -> list[dict[str, Any]]:
    return [
        json.loads(record.value)
        for record in read_topic(system.bootstrap_servers, HANDOVER_EVENTS)
        if record.key == prison_number.encode()
    ]


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=UTC).isoformat()


# --- custody events in sequence order -----------------------------------------------------------------------


@pytest.mark.hazard("H37")
def test_custody_events_out_of_order_end_as_in_order(env: Lifecycle) -> None:
    system = env.system
    first = release_notice(random.Random(91), place="durham", release_in_days=20)
    second = same_release_for(release_notice(random.Random(92), place="durham"), first)
    assert first["prison_number"] != second["prison_number"]
    release_day = date.fromisoformat(first["release"]["date"])
    contact = {
        "name": "Durham Healthcare (night)",
        "role": "Discharge coordinator",
        "phone": "0300 000 0009",
        "email": "night.dmi@example.org",
    }

    def events(prison_number: str) -> dict[int, dict[str, Any]]:
        return {
            1: custody_event(
                prison_number,
                "release_date_changed",
                sequence=1,
                release_date=(release_day + timedelta(days=2)).isoformat(),
            ),
            2: custody_event(
                prison_number,
                "release_date_changed",
                sequence=2,
                release_date=(release_day + timedelta(days=4)).isoformat(),
            ),
            3: custody_event(prison_number, "reception", sequence=3, reason="transfer_in", prison_contact=contact),
        }

    in_order, out_of_order = submit(system, first)["handover_id"], submit(system, second)["handover_id"]
    for handover_id in (in_order, out_of_order):
        for agency in DURHAM:
            wait_for(system, handover_id, agency, "handover.pack.issued", 1)
    ordered, shuffled = events(first["prison_number"]), events(second["prison_number"])
    for sequence in (1, 2, 3):
        send_custody_event(system, ordered[sequence])
    for sequence in (3, 2, 1):  # 3 before 2, and 1 last of all
        send_custody_event(system, shuffled[sequence])

    log = custody_log(system, second["prison_number"], 3)
    assert log[3]["outcome"] == "applied"
    assert log[2]["outcome"] == "applied" and "arrived after sequence 3" in log[2]["detail"]
    assert log[1]["outcome"] == "superseded" and "sequence 2 decided the release date" in log[1]["detail"]
    assert {row["outcome"] for row in custody_log(system, first["prison_number"], 3).values()} == {"applied"}

    a, b = handover(system, in_order), handover(system, out_of_order)
    for view in (a, b):
        assert view["state"] == "open"
        assert view["pack"]["release"]["date"] == (release_day + timedelta(days=4)).isoformat()
        assert view["pack"]["contacts"]["prison_healthcare"]["email"] == contact["email"]
    for agency in DURHAM:  # every agency has heard the last word on both cases
        wait_for(system, in_order, agency, "handover.pack.amended", a["version"])
        wait_for(system, out_of_order, agency, "handover.pack.amended", b["version"])
    assert holdings(system, in_order, DURHAM) == holdings(system, out_of_order, DURHAM)
    assert [r["status"] for r in a["referrals"]] == [r["status"] for r in b["referrals"]]


@pytest.mark.hazard("H38")
def test_an_event_before_its_notice_is_applied_when_the_notice_arrives(env: Lifecycle) -> None:
    system = env.system
    notice = release_notice(random.Random(93), place="durham", release_in_days=20)
    moved_to = date.fromisoformat(notice["release"]["date"]) + timedelta(days=3)
    send_custody_event(
        system,
        custody_event(notice["prison_number"], "release_date_changed", sequence=7, release_date=moved_to.isoformat()),
    )
    handover_id = submit(system, notice)["handover_id"]
    for agency in DURHAM:
        issued = wait_for(system, handover_id, agency, "handover.pack.issued", 1)
        amended = wait_for(system, handover_id, agency, "handover.pack.amended", 2)
        assert issued["pack"]["release"]["date"] == notice["release"]["date"]
        assert amended["pack"]["release"]["date"] == moved_to.isoformat(), agency
        assert {
            "section": "release.date",
            "before": notice["release"]["date"],
            "after": moved_to.isoformat(),
        } in amended["changes"]
    view = handover(system, handover_id)
    assert view["version"] == 2 and view["pack"]["release"]["date"] == moved_to.isoformat()
    row = custody_log(system, notice["prison_number"], 1)[7]
    assert row["outcome"] == "applied" and row["handover_id"] == handover_id
    assert "held until notice" in row["detail"]


@pytest.mark.hazard("H39")
def test_a_date_change_after_a_cancellation_is_never_silent(env: Lifecycle) -> None:
    system = env.system
    notice = release_notice(random.Random(94), place="durham", release_in_days=20)
    handover_id = submit(system, notice)["handover_id"]
    wait_for(system, handover_id, "PDU-DUR", "handover.pack.issued", 1)
    send_custody_event(system, custody_event(notice["prison_number"], "release_cancelled", sequence=1))
    for agency in DURHAM:
        wait_for(system, handover_id, agency, "handover.pack.withdrawn", 1)
    later = (date.fromisoformat(notice["release"]["date"]) + timedelta(days=9)).isoformat()
    send_custody_event(
        system, custody_event(notice["prison_number"], "release_date_changed", sequence=2, release_date=later)
    )

    row = custody_log(system, notice["prison_number"], 2)[2]
    assert row["outcome"] == "needs_new_notice" and "new notice" in row["detail"]
    told = eventually(
        lambda: [data for data in received(system, handover_id, "PH-DMI") if data["type"] == "handover.pack.withdrawn"],
        what="prison healthcare told",
    )
    assert "submit a new release notice" in told[-1]["note"] and "sequence 2" in told[-1]["note"]
    view = handover(system, handover_id)
    assert view["state"] == "withdrawn" and view["pack"]["release"]["date"] == notice["release"]["date"]
    for agency in DURHAM:  # the agencies hold the withdrawal, nothing after it
        assert received(system, handover_id, agency)[-1]["type"] == "handover.pack.withdrawn"


@pytest.mark.hazard("H39")
def test_a_late_cancellation_withdraws_and_the_date_change_after_it_asks_for_a_new_notice(env: Lifecycle) -> None:
    system = env.system
    notice = release_notice(random.Random(95), place="durham", release_in_days=20)
    handover_id = submit(system, notice)["handover_id"]
    wait_for(system, handover_id, "PDU-DUR", "handover.pack.issued", 1)
    later = (date.fromisoformat(notice["release"]["date"]) + timedelta(days=9)).isoformat()
    send_custody_event(
        system, custody_event(notice["prison_number"], "release_date_changed", sequence=2, release_date=later)
    )
    send_custody_event(system, custody_event(notice["prison_number"], "release_cancelled", sequence=1))
    log = custody_log(system, notice["prison_number"], 2)
    assert log[1]["outcome"] == "applied" and "overrides the later sequence(s) [2]" in log[1]["detail"]
    assert eventually(
        lambda: custody_log(system, notice["prison_number"], 2)[2]["outcome"] == "needs_new_notice",
        what="the overridden date change re-classified",
    )
    for agency in DURHAM:
        wait_for(system, handover_id, agency, "handover.pack.withdrawn", 2)
    eventually(
        lambda: any(
            data["type"] == "handover.pack.withdrawn" and "new release notice" in data["note"]
            for data in received(system, handover_id, "PH-DMI")
        ),
        what="prison healthcare told",
    )


# --- corrections -------------------------------------------------------------------------------------------


def correction(notice: dict[str, Any], notice_id: str, revision: int, **changes: Any) -> Any:
    corrected = ReleaseNoticeV1.model_validate({**notice, **changes})
    return new_event(
        type=EventType.RELEASE_NOTICE_AMENDED,
        source="urn:test:release-events",
        subject=notice["prison_number"],
        dataschema=RELEASE_NOTICE_AMENDED_SCHEMA,
        data=ReleaseNoticeAmendedV1(
            notice_id=notice_id,
            amendment_id=f"amendment-{revision}",
            revision=revision,
            received_at=datetime.now(UTC),
            reason="practitioner changed",
            notice=corrected,
        ),
        correlation_id=None,
    )


@pytest.mark.hazard("H41")
def test_a_practitioner_correction_amends_only_probations_part(env: Lifecycle) -> None:
    system = env.system
    notice = release_notice(random.Random(96), place="durham", release_in_days=20, full=True)
    del notice["substance_misuse"]  # Durham's test directory has no substance-misuse service
    release_day = date.fromisoformat(notice["release"]["date"])
    opened = submit(system, notice)
    handover_id = opened["handover_id"]
    cmht = wait_for(system, handover_id, "CMHT-DUR", "handover.pack.issued", 1)
    for agency in DURHAM:
        wait_for(system, handover_id, agency, "handover.pack.issued", 1)
    appointment = {"at": at(release_day + timedelta(days=2), 10), "place": "Durham hub"}
    accepted = post(
        system,
        "handover",
        f"/v1/agencies/CMHT-DUR/referrals/{cmht['referral_id']}/answers",
        {"answer": "accepted", "first_appointment": appointment},
    )
    assert accepted.status_code == 201, accepted.text

    reporting = notice["reporting_instructions"]
    second = correction(
        notice,
        opened["notice_id"],
        2,
        reporting_instructions={**reporting, "practitioner": "Probation officer Example"},
    )
    third = correction(
        notice, opened["notice_id"], 3, reporting_instructions={**reporting, "practitioner": "Probation officer Other"}
    )
    publish(system.bootstrap_servers, CUSTODY_EVENTS, second, second.model_copy(update={"id": "replayed-rev-2"}), third)

    amended = wait_for(system, handover_id, "PDU-DUR", "handover.pack.amended", 3)
    assert [change["section"] for change in amended["changes"]] == ["reporting_instructions"]
    assert amended["pack"]["reporting_instructions"]["practitioner"] == "Probation officer Other"
    assert "practitioner changed" in amended["note"]
    view = handover(system, handover_id)
    assert view["version"] == 3, "each revision once: the replayed revision 2 is not applied again"
    team = next(r for r in view["referrals"] if r["agency_code"] == "CMHT-DUR")
    assert team["status"] == "accepted" and team["first_appointment_at"].startswith(appointment["at"][:16])
    pack_events = eventually(
        lambda: (
            len(
                found := [
                    e
                    for e in events_on_handover_topic(system, notice["prison_number"])
                    if e["type"] == EventType.HANDOVER_PACK_AMENDED.value
                ]
            )
            == 2
            and found
        ),
        what="two amended packs",
    )
    for event in pack_events:
        assert [entry["agency_code"] for entry in event["data"]["distribution"]] == ["PDU-DUR"]
    assert [data["type"] for data in received(system, handover_id, "CMHT-DUR")] == ["handover.pack.issued"]
    assert [data["type"] for data in received(system, handover_id, "A99001")] == ["handover.pack.issued"]


@pytest.mark.hazard("H42")
def test_an_address_moved_out_of_the_area_moves_the_referral(env: Lifecycle) -> None:
    system = env.system
    notice = release_notice(random.Random(98), place="durham", release_in_days=20)
    opened = submit(system, notice)
    handover_id = opened["handover_id"]
    for agency in DURHAM:
        wait_for(system, handover_id, agency, "handover.pack.issued", 1)
    teesside = {
        "kind": "address",
        "address": {
            "lines": ["1 Example Street"],
            "town": "Middlesbrough",
            "postcode": "TS1 1AA",
            "local_authority": "Middlesbrough",
        },
    }
    moved = correction(notice, opened["notice_id"], 2, release={**notice["release"], "destination": teesside})
    publish(system.bootstrap_servers, CUSTODY_EVENTS, moved)

    withdrawn = wait_for(system, handover_id, "PDU-DUR", "handover.pack.amended", 2)
    assert withdrawn["message"] == "withdrawn" and "no longer in your area" in withdrawn["note"]
    assert set(withdrawn["pack"]) == {"patient_demographics", "release"}
    assert "TS1" not in json.dumps(withdrawn), "the old agency does not learn the new address"
    taken_over = wait_for(system, handover_id, "PDU-TEES", "handover.pack.amended", 2)
    assert taken_over["message"] == "issued" and taken_over["referral_id"]
    assert taken_over["pack"]["release"]["destination"]["address"]["postcode"] == "TS1 1AA"
    statuses = {r["agency_code"]: r["status"] for r in handover(system, handover_id)["referrals"]}
    assert statuses["PDU-DUR"] == "cancelled" and statuses["PDU-TEES"] == "requested"
    worklist = get(system, "handover", "/v1/agencies/PDU-TEES/handovers")
    assert handover_id in {item["handover_id"] for item in worklist}
    former = get(system, "handover", "/v1/agencies/PDU-DUR/handovers")
    assert handover_id not in {item["handover_id"] for item in former}


# --- re-notification (last: it moves the notifier's clock forward) ------------------------------------------


@pytest.mark.hazard("H40")
def test_a_date_change_after_probation_confirmed_asks_it_again_and_escalates_again(env: Lifecycle) -> None:
    system = env.system
    notice = release_notice(random.Random(97), place="durham", release_in_days=10)
    release_day = date.fromisoformat(notice["release"]["date"])
    handover_id = submit(system, notice)["handover_id"]
    pdu = wait_for(system, handover_id, "PDU-DUR", "handover.pack.issued", 1)
    reporting = {
        "office": "Durham Probation Office (fictitious)",
        "report_at": at(release_day, 15),
        "practitioner": "Probation officer Example",
    }
    confirmed = post(
        system,
        "handover",
        f"/v1/agencies/PDU-DUR/referrals/{pdu['referral_id']}/answers",
        {"answer": "confirmed", "reporting_instructions": reporting},
    )
    assert confirmed.status_code == 201, confirmed.text

    def watch() -> dict[str, Any]:
        found = get(system, "notifier", "/v1/referrals", as_client="operator", handover_id=handover_id)
        return next((item for item in found if item["agency_code"] == "PDU-DUR"), {"answered_at": None})

    confirmed_at = eventually(lambda: watch().get("answered_at"), what="the confirmation to reach the notifier")

    new_day = release_day + timedelta(days=4)
    send_custody_event(
        system,
        custody_event(notice["prison_number"], "release_date_changed", sequence=1, release_date=new_day.isoformat()),
    )
    amended = wait_for(system, handover_id, "PDU-DUR", "handover.pack.amended", 2)
    [invalidated] = amended["invalidated"]
    assert invalidated["item"] == "reporting_instructions_confirmation"
    assert invalidated["reason"].startswith("confirmation invalidated by release date change")
    assert "please confirm reporting instructions again" in invalidated["reason"]
    assert {"section": "release.date", "before": release_day.isoformat(), "after": new_day.isoformat()} in amended[
        "changes"
    ]

    worklist = get(system, "handover", "/v1/agencies/PDU-DUR/handovers")
    item = next(w for w in worklist if w["handover_id"] == handover_id)
    assert item["status"] == "requested" and item["sent"]["invalidated"][0]["item"] == invalidated["item"]
    readiness = handover(system, handover_id)["readiness"]
    reporting_item = next(i for i in readiness["items"] if i["item"] == "reporting_instructions")
    assert reporting_item["status"] != "done"
    assert reporting_item["detail"].startswith("confirmation invalidated by release date change")
    lounge = get(
        system,
        "handover",
        "/v1/establishments/DMI/releases",
        **{"from": new_day.isoformat(), "to": new_day.isoformat()},
    )
    mine = next(d for d in lounge if d["handover_id"] == handover_id)
    assert any(i["detail"].startswith("confirmation invalidated") for i in mine["readiness"]["items"])

    rearmed = eventually(
        lambda: (w := watch()).get("answered_at") is None and w.get("delivered_at") and w,
        what="the notifier to watch the referral again",
    )
    assert datetime.fromisoformat(rearmed["delivered_at"]) > datetime.fromisoformat(confirmed_at)
    before_release = datetime.combine(new_day, time(0, 0), tzinfo=ZoneInfo("Europe/London")) - timedelta(hours=24)
    env.advance_notifier_to(before_release + timedelta(hours=1))
    escalations = eventually(
        lambda: [
            e
            for e in get(system, "notifier", "/v1/escalations", as_client="operator", handover_id=handover_id)
            if e["agency_code"] == "PDU-DUR" and e["deadline"] == "before_release"
        ],
        what="probation's unanswered referral to escalate before release",
    )
    due = datetime.fromisoformat(escalations[0]["due_at"])
    assert due < datetime.combine(new_day, time(0, 0), tzinfo=UTC)
    assert due > datetime.combine(release_day, time(0, 0), tzinfo=UTC), "the deadline of the new release date"
