"""Issue 3 acceptance: one release notice end to end on real parts (broker, databases, HTTP, receivers).

Runs once on SQLite files and once on PostgreSQL (the ``system`` fixture is parametrised by backend).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from cloudevents.v1.kafka import KafkaMessage, from_structured
from standardwebhooks.webhooks import Webhook

from services.common.topics import CUSTODY_EVENTS, HANDOVER_EVENTS
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

DURHAM_RECIPIENTS = {"A99001", "CMHT-DUR", "PDU-DUR"}


def submit(system: RunningSystem, notice: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    with system.client("release_events") as client:
        return client.post("/v1/release-notices", json=notice, headers=headers)


def handovers_of(system: RunningSystem, notice_id: str) -> list[dict[str, Any]]:
    with system.client("handover") as client:
        response = client.get("/v1/handovers", params={"notice_id": notice_id})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def deliveries_of(system: RunningSystem, handover_id: str) -> list[dict[str, Any]]:
    with system.client("notifier") as client:
        response = client.get("/v1/deliveries", params={"handover_id": handover_id})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def wait_for_handover(system: RunningSystem, notice_id: str) -> dict[str, Any]:
    found = eventually(lambda: handovers_of(system, notice_id), what="the handover of the notice")
    return found[0]


def wait_until_delivered(system: RunningSystem, handover_id: str, agencies: set[str]) -> list[dict[str, Any]]:
    def all_final() -> list[dict[str, Any]] | None:
        deliveries = deliveries_of(system, handover_id)
        done = {item["agency_code"] for item in deliveries if item["status"] == "delivered"}
        return deliveries if done == agencies else None

    return eventually(all_final, what=f"deliveries to {sorted(agencies)}")


def test_one_notice_reaches_every_recipient_signed_with_the_pack(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham")
    response = submit(system, notice, key=str(uuid.uuid4()))
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["location"] == accepted["status_url"]

    handover = wait_for_handover(system, accepted["notice_id"])
    assert handover["version"] == 1
    assert handover["pack"]["patient_demographics"]["nhs_number"] == notice["nhs_number"]

    wait_until_delivered(system, handover["handover_id"], DURHAM_RECIPIENTS)
    webhooks = system.receiver.for_handover(handover["handover_id"])
    assert {item.agency_code for item in webhooks} == DURHAM_RECIPIENTS
    for item in webhooks:
        verified = Webhook(system.secrets[item.agency_code]).verify(item.body, item.headers)
        assert verified["type"] == "handover.pack.issued"
        pack = verified["data"]["pack"]
        assert pack["patient_demographics"]["prison_number"] == notice["prison_number"]
        if item.agency_code == "PDU-DUR":  # data minimisation: probation gets no clinical detail
            assert "medications" not in pack and "mental_health" not in pack
        else:
            assert [m["name"] for m in pack["medications"]] == [m["name"] for m in notice["medications"]]
        assert pack["release"]["date"] == notice["release"]["date"]
        assert item.headers["webhook-id"].startswith("msg_")

    with system.client("release_events") as client:  # the status URL follows the notice to the agencies
        status = eventually(
            lambda: (
                (s := client.get(accepted["status_url"]).json())["status"] == "pack_issued"
                and {d["state"] for d in s["deliveries"]} == {"delivered"}
                and s
            ),
            what="the notice's pack to be issued and delivered",
        )
    assert status["published_at"] is not None
    assert (status["handover_id"], status["version"]) == (handover["handover_id"], 1)
    assert {d["agency_code"] for d in status["deliveries"]} == DURHAM_RECIPIENTS


@pytest.mark.hazard("H18")
def test_a_tampered_body_does_not_verify(system: RunningSystem) -> None:
    """The signature check used above is real: the same library refuses a changed body."""
    notice = release_notice(seeded_rng(), place="durham")
    notice_id = submit(system, notice).json()["notice_id"]
    handover = wait_for_handover(system, notice_id)
    wait_until_delivered(system, handover["handover_id"], DURHAM_RECIPIENTS)
    item = system.receiver.for_handover(handover["handover_id"])[0]
    tampered = item.body.replace(notice["prison_number"].encode(), b"Z9999ZZ")
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(system.secrets[item.agency_code]).verify(tampered, item.headers)


@pytest.mark.hazard("H17")
def test_the_same_notice_twice_with_one_key_makes_one_pack_and_one_webhook_each(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham")
    key = str(uuid.uuid4())
    first, second = submit(system, notice, key=key), submit(system, notice, key=key)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"

    other_body = {**notice, "given_name": "Different"}
    conflict = submit(system, other_body, key=key)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")

    notice_id = first.json()["notice_id"]
    handover = wait_for_handover(system, notice_id)
    deliveries = wait_until_delivered(system, handover["handover_id"], DURHAM_RECIPIENTS)
    assert len(deliveries) == len(DURHAM_RECIPIENTS)
    assert len(handovers_of(system, notice_id)) == 1
    per_agency = [item.agency_code for item in system.receiver.for_handover(handover["handover_id"])]
    assert sorted(per_agency) == sorted(DURHAM_RECIPIENTS)

    published = [
        record
        for record in read_topic(system.bootstrap_servers, CUSTODY_EVENTS)
        if json.loads(record.value)["data"]["notice"]["prison_number"] == notice["prison_number"]
    ]
    assert len(published) == 1


def test_kafka_messages_parse_with_the_cloudevents_sdk(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="birmingham")
    notice_id = submit(system, notice).json()["notice_id"]
    handover = wait_for_handover(system, notice_id)

    for topic, expected_type in (
        (CUSTODY_EVENTS, "uk.nhs.ttg.custody.release-notice.submitted"),
        (HANDOVER_EVENTS, "uk.nhs.ttg.handover.pack.issued"),
    ):
        records = eventually(
            lambda t=topic: [
                r for r in read_topic(system.bootstrap_servers, t) if r.key == notice["prison_number"].encode()
            ],
            what=f"the person's event on {topic}",
        )
        assert len(records) == 1
        record = records[0]
        event = from_structured(KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value))
        assert event["specversion"] == "1.0"
        assert event["type"] == expected_type
        assert event["subject"] == notice["prison_number"]
        assert event["dataschema"].endswith(":1.0")
        assert event["id"] and event["source"].startswith("urn:ttg:")
        assert event["correlationid"]
        data = event.get_data()
        if topic == HANDOVER_EVENTS:
            assert data["handover_id"] == handover["handover_id"]
        else:
            assert data["notice_id"] == notice_id


def _invalid(case: str) -> tuple[dict[str, Any], set[str]]:
    notice = release_notice(seeded_rng(), place="durham")
    if case == "bad NHS check digit":
        digits = notice["nhs_number"]
        notice["nhs_number"] = digits[:9] + str((int(digits[9]) + 1) % 10)
        return notice, {"nhs_number"}
    if case == "bad prison number":
        notice["prison_number"] = "12345AB"
        return notice, {"prison_number"}
    if case == "release before birth":
        notice["date_of_birth"] = "2030-01-01"
        return notice, {"release"}
    if case == "missing fields":
        del notice["given_name"], notice["prison_contact"]
        return notice, {"given_name", "prison_contact"}
    if case == "bad postcode and unknown field":
        notice["release"]["destination"]["address"]["postcode"] = "NOT A POSTCODE"
        return notice, {"release.destination.address.postcode"}
    if case == "unknown field":
        notice["mental_health"]["concent_to_share"] = True
        return notice, {"mental_health.concent_to_share"}
    raise AssertionError(case)


INVALID_CASES = [
    "bad NHS check digit",
    "bad prison number",
    "release before birth",
    "missing fields",
    "bad postcode and unknown field",
    "unknown field",
]


@pytest.mark.hazard("H04", "H05")
def test_invalid_notices_get_problem_details_naming_the_field_and_nothing_is_published(
    system: RunningSystem,
) -> None:
    refused_people = []
    for case in INVALID_CASES:
        notice, fields = _invalid(case)
        refused_people.append(notice.get("prison_number"))
        response = submit(system, notice, key=str(uuid.uuid4()))
        assert response.status_code == 422, (case, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), case
        problem = response.json()
        assert problem["status"] == 422 and problem["type"].endswith("/validation") and problem["title"]
        named = {error["field"] for error in problem["errors"]}
        assert fields <= named, (case, named)
        for error in problem["errors"]:
            assert error["pointer"].startswith("#/") and error["detail"]

    with system.client("release_events") as client:
        malformed = client.post(
            "/v1/release-notices", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("application/problem+json")

    sentinel = release_notice(seeded_rng(), place="durham")
    sentinel_id = submit(system, sentinel).json()["notice_id"]
    wait_for_handover(system, sentinel_id)
    published = {record.key.decode() for record in read_topic(system.bootstrap_servers, CUSTODY_EVENTS)}
    assert sentinel["prison_number"] in published
    assert not published & {person for person in refused_people if person}


def test_no_personal_data_reaches_the_service_logs(system: RunningSystem) -> None:
    notice = release_notice(seeded_rng(), place="durham")
    notice["family_name"] = "Zzyzxquist"
    notice_id = submit(system, notice).json()["notice_id"]
    handover = wait_for_handover(system, notice_id)
    wait_until_delivered(system, handover["handover_id"], DURHAM_RECIPIENTS)

    address = notice["release"]["destination"]["address"]
    identifiers = [
        notice["nhs_number"],
        notice["prison_number"],
        notice["family_name"],
        notice["date_of_birth"],
        address["lines"][0],
        address["postcode"],
    ]
    logs = {name: system.stack.log_path(name).read_text() for name in ("release_events", "handover", "notifier")}
    assert all(len(text.splitlines()) >= 2 for text in logs.values()), "the services did log their steps"
    assert handover["handover_id"] in logs["notifier"] and notice_id in logs["release_events"] + logs["handover"]
    for name, text in logs.items():
        for identifier in identifiers:
            assert identifier not in text, f"{name} logged personal data"
