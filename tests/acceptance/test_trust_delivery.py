"""Issue 9 acceptance, deliverables 5 and 8: no referral stuck unseen, and escalation a prison can use.

Real parts: the embedded broker, the three services on SQLite and on PostgreSQL, a real receiver whose answers
each agency's endpoint is told to give (``tests/support/receiver.py``), signatures verified with
``standardwebhooks``. The notifier runs on its test clock, so deadlines are reached without waiting.

- An endpoint that answers 410 Gone: the referral is re-routed at once to the next eligible agency; after the
  endpoint is fixed and resumed (``resend=true``), every failed delivery goes again with its original webhook-id,
  in order.
- An endpoint whose secret is misconfigured (401) with no other agency for the referral: the prison is told at
  once; the person's amended pack waits behind the pack the agency never got; a replay (the CLI) restores the
  order.
- Prison healthcare reads its own escalations (another prison: 404; an agency: 403); one message per person per
  deadline names every agency and item outstanding; no deadline falls before the notice was received.

Each scenario has its own agencies (its own postcode district). They run in file order; the clock only moves on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.acceptance.test_delivery import (
    DeliverySystem,
    TestClock,
    cli,
    deliveries,
    delivery,
    delivery_to,
    drive,
    get,
    notice_for,
    verify,
)
from tests.conftest import BACKENDS, require_backend
from tests.support.polling import eventually
from tests.support.receiver import Behaviour
from tests.support.system import start_system, stop_system
from ttg.synthetic import custody_event

pytestmark = pytest.mark.acceptance


def _agency(code: str, kind: str, districts: list[str], establishments: list[str] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "districts": districts,
        "authorities": [],
        **({"establishments": establishments} if establishments else {}),
    }


AGENCIES = [
    # 410 Gone: the mental-health team is gone, RECONNECT takes its referrals
    _agency("GP-GONE-AREA", "gp_practice", ["NE21"]),
    _agency("CMHT-GONE", "community_mental_health_team", ["NE21"]),
    _agency("RECONNECT-NE21", "reconnect", ["NE21"]),
    _agency("PDU-NE21", "probation_delivery_unit", ["NE21"]),
    # 401 (a misconfigured secret): the only mental-health service of its area
    _agency("GP-SECRET-AREA", "gp_practice", ["NE22"]),
    _agency("CMHT-BADSECRET", "community_mental_health_team", ["NE22"]),
    _agency("PDU-NE22", "probation_delivery_unit", ["NE22"]),
    # agencies that receive but never answer: escalation
    _agency("GP-QUIET", "gp_practice", ["NE23"]),
    _agency("CMHT-QUIET", "community_mental_health_team", ["NE23"]),
    _agency("PDU-QUIET", "probation_delivery_unit", ["NE23"]),
    _agency("HCC-DMI", "prison_healthcare", [], establishments=["DMI"]),
    _agency("HCC-BMI", "prison_healthcare", [], establishments=["BMI"]),
]


@pytest.fixture(scope="module", params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeliverySystem]:
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"trust-delivery-{backend}")
    clock = TestClock(tmp / "clock-offset")
    extra_env = {
        "TTG_NOTIFIER_TEST_CLOCK": "1",
        "TTG_NOTIFIER_TEST_CLOCK_FILE": str(clock.path),
        "TTG_NOTIFIER_RETRY_SCHEDULE_SECONDS": json.dumps([0, 60, 300]),
        "TTG_NOTIFIER_PER_ENDPOINT_CONCURRENCY": "1",  # one at a time per endpoint: arrival order is send order
        "TTG_NOTIFIER_BREAKER_COOLDOWN_SECONDS": "60",
        "TTG_NOTIFIER_DISPATCH_IDLE_SECONDS": "0.2",
    }
    running = start_system(tmp, backend, extra_env=extra_env, agencies=AGENCIES)
    try:
        yield DeliverySystem(running, clock, tmp / "directory.yaml")
    finally:
        stop_system(running)


def submit(env: DeliverySystem, notice: dict[str, Any]) -> tuple[str, str]:
    """POST a notice as prison healthcare of DMI; return its notice id and the id of the handover it opens."""
    with env.system.client("release_events", as_client="prison-dmi") as client:
        response = client.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]
    with env.system.client("handover", as_client="prison-dmi") as client:
        found = eventually(
            lambda: client.get("/v1/handovers", params={"notice_id": notice_id}).json(),
            what="the handover of the notice",
        )
    return notice_id, str(found[0]["handover_id"])


def handover_view(env: DeliverySystem, handover_id: str) -> dict[str, Any]:
    with env.system.client("handover", as_client="prison-dmi") as client:
        response = client.get(f"/v1/handovers/{handover_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def referral_to(env: DeliverySystem, handover_id: str, agency: str) -> dict[str, Any] | None:
    return next((r for r in handover_view(env, handover_id)["referrals"] if r["agency_code"] == agency), None)


def webhooks(env: DeliverySystem, agency: str, handover_id: str, kind: str) -> list[Any]:
    return [
        item
        for item in env.system.receiver.to(agency)
        if item.json.get("type") == kind and item.json.get("data", {}).get("handover_id") == handover_id
    ]


def resume(env: DeliverySystem, agency: str, resend: bool = False) -> dict[str, Any]:
    with env.system.client("notifier", as_client="operator") as client:
        response = client.post(f"/v1/endpoints/{agency}/resume", params={"resend": "true"} if resend else None)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def delivered_in_order(env: DeliverySystem, agency: str, webhook_ids: list[str]) -> list[str]:
    """The webhook ids of ``webhook_ids`` as the endpoint acknowledged them, in the order it did."""
    return [
        item.webhook_id
        for item in env.system.receiver.answered(agency)
        if item.webhook_id in webhook_ids and 200 <= item.status < 300
    ]


# --- scenarios -------------------------------------------------------------------------------------------------


@pytest.mark.hazard("H44")
@pytest.mark.hazard("H45")
def test_a_410_endpoint_re_routes_at_once_and_resumed_it_gets_the_failed_deliveries_again_in_order(
    env: DeliverySystem,
) -> None:
    receiver = env.system.receiver
    receiver.behave("CMHT-GONE", Behaviour(statuses=[410]))
    _, first = submit(env, notice_for("NE21"))
    gone = delivery_to(env, first, "CMHT-GONE")["webhook_id"]
    assert drive(env, [gone])[0]["status"] == "failed"

    # at once, without waiting for anyone to fix the endpoint: the referral moves on to RECONNECT
    rerouted = eventually(
        lambda: webhooks(env, "RECONNECT-NE21", first, "handover.referral.rerouted"),
        what="the referral re-routed to RECONNECT",
    )
    body = verify(env.system.secrets["RECONNECT-NE21"], rerouted[0].body, rerouted[0].headers)
    assert body["data"]["referral_kind"] == "mental_health" and "CMHT-GONE could not be reached" in json.dumps(body)
    old = eventually(
        lambda: (r := referral_to(env, first, "CMHT-GONE")) and r["status"] == "cancelled" and r,
        what="the undeliverable referral cancelled",
    )
    assert old["delivery_status"] == "failed"
    new = referral_to(env, first, "RECONNECT-NE21")
    assert new is not None and new["status"] == "requested" and new["referral_kind"] == "mental_health"

    # another person's pack to the disabled endpoint fails too, and is re-routed as well
    _, second = submit(env, notice_for("NE21"))
    held = delivery_to(env, second, "CMHT-GONE")["webhook_id"]
    assert drive(env, [held])[0]["status"] == "failed"
    eventually(
        lambda: webhooks(env, "RECONNECT-NE21", second, "handover.referral.rerouted"),
        what="the second referral re-routed",
    )
    assert [item.headers["webhook-id"] for item in receiver.to("CMHT-GONE")] == [gone], "nothing sent after 410"
    assert {item["webhook_id"] for item in get(env, "/v1/dead-letters", agency_code="CMHT-GONE")} == {gone, held}, (
        "a failed delivery is listed with the dead letters: it stays replayable"
    )

    # the agency fixes its endpoint; resuming it offers what waits, and re-sends it on request
    receiver.behave("CMHT-GONE", Behaviour(statuses=[204]))
    offered = resume(env, "CMHT-GONE")
    assert offered["status"] == "active"
    assert [item["webhook_id"] for item in offered["waiting"]] == [gone, held]
    assert [item["status"] for item in offered["waiting"]] == ["failed", "failed"]
    resent = resume(env, "CMHT-GONE", resend=True)
    assert resent["resent"] == [gone, held] and resent["waiting"] == []
    env.clock.advance(61)  # past the breaker's cooldown, opened by the 410
    final = drive(env, [gone, held])
    assert [item["status"] for item in final] == ["delivered", "delivered"]
    assert [item["replays"] for item in final] == [1, 1]
    assert delivered_in_order(env, "CMHT-GONE", [gone, held]) == [gone, held], "original webhook-ids, in order"
    for item in receiver.to("CMHT-GONE")[1:]:
        assert verify(env.system.secrets["CMHT-GONE"], item.body, item.headers)["type"] == "handover.pack.issued"
    trail = [item["action"] for item in get(env, "/v1/delivery-audit", webhook_id=gone)]
    assert trail == ["endpoint_disabled", "delivery_replayed", "replay_delivered"]


@pytest.mark.hazard("H43")
@pytest.mark.hazard("H44")
@pytest.mark.hazard("H45")
def test_a_401_endpoint_tells_the_prison_at_once_holds_the_amendment_and_a_replay_restores_the_order(
    env: DeliverySystem,
) -> None:
    receiver = env.system.receiver
    receiver.behave("CMHT-BADSECRET", Behaviour(statuses=[401]))
    notice = notice_for("NE22")
    _, handover_id = submit(env, notice)
    issued = delivery_to(env, handover_id, "CMHT-BADSECRET", "handover.pack.issued")["webhook_id"]
    [failed] = drive(env, [issued])
    assert failed["status"] == "failed" and failed["attempt_count"] == 1, "a 401 is final: not retried"

    # no other mental-health service covers NE22: the prison is told at once (no deadline needed)
    told = eventually(
        lambda: webhooks(env, "HCC-DMI", handover_id, "handover.referral.escalated"),
        what="the prison told that the referral could not be delivered",
    )
    body = verify(env.system.secrets["HCC-DMI"], told[0].body, told[0].headers)
    assert "could not be delivered" in json.dumps(body) and "CMHT-BADSECRET" in json.dumps(body)
    referral = eventually(
        lambda: (r := referral_to(env, handover_id, "CMHT-BADSECRET")) and r["delivery_status"] == "failed" and r,
        what="the referral's delivery recorded",
    )
    assert referral["status"] == "requested", "still open: a replay may deliver it"
    readiness = {i["item"]: i for i in handover_view(env, handover_id)["readiness"]["items"]}
    assert readiness["mental_health_referral"]["status"] == "at_risk"

    # the release date moves: the amendment of a pack the team never got waits behind it
    moved = (date.fromisoformat(notice["release"]["date"]) - timedelta(days=1)).isoformat()
    with env.system.client("release_events", as_client="prison-dmi") as client:
        event = custody_event(notice["prison_number"], "release_date_changed", sequence=1, release_date=moved)
        assert client.post("/v1/custody-events", json=event).status_code == 202
    amended = delivery_to(env, handover_id, "CMHT-BADSECRET", "handover.pack.amended")["webhook_id"]
    gp_amended = delivery_to(env, handover_id, "GP-SECRET-AREA", "handover.pack.amended")["webhook_id"]
    assert drive(env, [gp_amended])[0]["status"] == "delivered"  # the dispatcher has run since
    env.clock.advance(3600)
    _, sentinel = submit(env, notice_for("NE23"))
    drive(env, [delivery_to(env, sentinel, "CMHT-QUIET")["webhook_id"]])
    waiting = delivery(env, amended)
    assert waiting["status"] == "pending" and waiting["attempt_count"] == 0, "held: never sent before the pack"
    assert [item.headers["webhook-id"] for item in receiver.to("CMHT-BADSECRET")] == [issued]

    # the secret is fixed; the operator replays the pack with the CLI, and the amendment follows it
    receiver.behave("CMHT-BADSECRET", Behaviour(statuses=[204]))
    offered = resume(env, "CMHT-BADSECRET")
    assert [item["webhook_id"] for item in offered["waiting"]] == [issued]
    assert issued in cli(env, "dead-letters", "replay", issued, "--notifier-url", env.system.stack.url("notifier"))
    final = drive(env, [issued, amended])
    assert [item["status"] for item in final] == ["delivered", "delivered"]
    seen = [(item.webhook_id, item.type, item.status) for item in receiver.answered("CMHT-BADSECRET")]
    assert seen == [
        (issued, "handover.pack.issued", 401),
        (issued, "handover.pack.issued", 204),
        (amended, "handover.pack.amended", 204),
    ], "the same pack first, then its amendment"
    eventually(
        lambda: (r := referral_to(env, handover_id, "CMHT-BADSECRET")) and r["delivery_status"] == "delivered",
        what="the prison to see that the pack arrived after all",
    )


def escalations(env: DeliverySystem, client: str, **params: Any) -> Any:
    with env.system.client("notifier", as_client=client) as http:
        return http.get("/v1/escalations", params=params)


@pytest.mark.hazard("H46")
@pytest.mark.hazard("H47")
@pytest.mark.hazard("H48")
def test_a_prison_reads_its_escalations_one_message_per_person_per_deadline_never_due_before_the_notice(
    env: DeliverySystem,
) -> None:
    receiver = env.system.receiver
    # A notice received the day before release: its "24 h before the release day" deadline lies in the past.
    late_notice = notice_for("NE23", today=datetime.now(UTC).date(), release_in_days=1)
    late_id, late = submit(env, late_notice)
    with env.system.client("release_events", as_client="prison-dmi") as client:
        received_at = datetime.fromisoformat(client.get(f"/v1/release-notices/{late_id}").json()["received_at"])
    found = eventually(
        lambda: (r := escalations(env, "prison-dmi", handover_id=late)).status_code == 200 and r.json(),
        what="the late notice escalated at once",
    )
    assert {item["deadline"] for item in found} == {"before_release"}
    assert all(datetime.fromisoformat(item["due_at"]) >= received_at for item in found), (
        "no deadline before the notice was received"
    )
    delivered_at = {item["agency_code"]: item["delivered_at"] for item in get(env, "/v1/referrals", handover_id=late)}
    for item in found:  # clamped to the moment the referral reached its agency, and escalated from then
        assert datetime.fromisoformat(item["due_at"]) == datetime.fromisoformat(delivered_at[item["agency_code"]])

    # A notice in good time, its referrals delivered and never answered: one message per deadline.
    quiet_notice = notice_for("NE23", today=env.clock.now().date(), release_in_days=10)
    _, quiet = submit(env, quiet_notice)
    drive(env, [delivery_to(env, quiet, code)["webhook_id"] for code in ("CMHT-QUIET", "PDU-QUIET", "GP-QUIET")])
    env.clock.advance(73 * 3600)
    rows = eventually(
        lambda: len(r := escalations(env, "prison-dmi", handover_id=quiet).json()) >= 2 and r,
        what="the quiet referrals escalated",
    )
    assert {(item["agency_code"], item["deadline"]) for item in rows} >= {
        ("CMHT-QUIET", "after_delivery"),
        ("PDU-QUIET", "after_delivery"),
    }
    assert all(item["establishment_code"] == "DMI" and item["told"] == ["HCC-DMI"] for item in rows)
    messages = eventually(
        lambda: webhooks(env, "HCC-DMI", quiet, "handover.referral.escalated"), what="the prison's escalation message"
    )
    assert len(messages) == 1, "one message for every referral outstanding at the deadline"
    planned = [item for item in deliveries(env, quiet) if item["event_type"] == "handover.referral.escalated"]
    assert [item["agency_code"] for item in planned] == ["HCC-DMI"], "one message planned, to the prison only"
    data = verify(env.system.secrets["HCC-DMI"], messages[0].body, messages[0].headers)["data"]
    assert data["deadline"] == "after_delivery"
    outstanding = {(item["agency_code"], item["item"]) for item in data["outstanding"]}
    assert {("CMHT-QUIET", "mental_health_referral"), ("PDU-QUIET", "reporting_instructions")} <= outstanding
    assert outstanding == {(item["agency_code"], _item_of(item["agency_code"])) for item in rows}

    # who may read them: the prison of the release and operators; another prison gets 404, an agency 403
    assert escalations(env, "operator", handover_id=quiet).json() == rows
    other = escalations(env, "prison-bmi", handover_id=quiet)
    assert other.status_code == 404 and other.headers["content-type"].startswith("application/problem+json")
    assert quiet not in {item["handover_id"] for item in escalations(env, "prison-bmi").json()}
    assert quiet in {item["handover_id"] for item in escalations(env, "prison-dmi").json()}
    assert escalations(env, "cmht-dur", handover_id=quiet).status_code == 403
    assert escalations(env, None, handover_id=quiet).status_code == 401
    audit = get(env, "/v1/audit", subject=quiet_notice["prison_number"], limit=1000)
    assert any(record["action"] == "escalations.read" and record["actor"] == "prison-dmi" for record in audit), (
        "a prison's read of its escalations is audited with who read"
    )
    assert (
        len([item for item in receiver.to("HCC-BMI") if item.json.get("data", {}).get("handover_id") == quiet]) == 0
    ), "another prison is told nothing"


def _item_of(agency_code: str) -> str:
    return {"CMHT-QUIET": "mental_health_referral", "PDU-QUIET": "reporting_instructions", "GP-QUIET": "gp"}[
        agency_code
    ]
