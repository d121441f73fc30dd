"""Issue 5 acceptance: webhook delivery an agency can trust, on real parts.

Real HTTP receivers on 127.0.0.1 (``tests/support/receiver.py``), the real broker, SQLite and PostgreSQL. The
notifier runs on its test clock (``services/notifier/adapters/offset_clock.py``): tests move time forward by
minutes, hours or days and see the schedule, pauses and escalation deadlines act at once, without waiting in real time.

Each scenario has its own agencies (its own postcode district), so scenarios sharing one running system do not
disturb each other. They run in file order; the clock only ever moves forward.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from contracts.envelope import EventType
from services.common.topics import DELIVERY_EVENTS
from services.notifier.adapters.offset_clock import write_offset
from tests.conftest import BACKENDS, require_backend
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.receiver import Behaviour
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, start_system, stop_system
from ttg.cli import app as cli_app
from ttg.synthetic import custody_event, release_notice

pytestmark = pytest.mark.acceptance

SCHEDULE = [0, 60, 300, 1800, 7200]  # five rounds, then dead-lettered
CONCURRENCY = 3
BREAKER_COOLDOWN = 60
PAUSE_AFTER = 7200


def _agency(
    code: str,
    kind: str,
    districts: list[str],
    authorities: list[str] | None = None,
    establishments: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "districts": districts,
        "authorities": authorities or [],
        **({"establishments": establishments} if establishments else {}),
    }


AGENCIES = [
    _agency("RETRY-GP", "gp_practice", ["NE1"]),
    _agency("GONE-CMHT", "community_mental_health_team", ["NE2"]),
    _agency("BUSY-PDU", "probation_delivery_unit", ["NE3"]),
    _agency("HANG-GP", "gp_practice", ["NE4"]),
    _agency("FAST-CMHT", "community_mental_health_team", ["NE4"]),
    _agency("FAST-PDU", "probation_delivery_unit", ["NE4"]),
    _agency("CRASH-GP", "gp_practice", ["NE5"]),
    _agency("CRASH-CMHT", "community_mental_health_team", ["NE5"]),
    _agency("ROT-GP", "gp_practice", ["NE6"]),
    _agency("ORDER-CMHT", "community_mental_health_team", ["NE7"]),
    _agency("DEAD-SMS", "substance_misuse_service", ["NE8"]),
    _agency("CMHT-TEES", "community_mental_health_team", ["TS1", "TS3"], ["Middlesbrough"]),
    _agency("RECONNECT-TEES", "reconnect", ["TS1", "TS3"], ["Middlesbrough"]),
    _agency("HCC-HHI", "prison_healthcare", [], establishments=["HHI"]),
    _agency("HCC-DMI", "prison_healthcare", [], establishments=["DMI"]),
]


@dataclass
class TestClock:
    """The notifier's clock as the test moves it: real time plus an offset kept in a file."""

    __test__ = False
    path: Path
    offset: float = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        write_offset(self.path, self.offset)

    def advance_to(self, when: datetime) -> None:
        gap = (when - self.now()).total_seconds()
        if gap > 0:
            self.advance(gap)


@dataclass
class DeliverySystem:
    system: RunningSystem
    clock: TestClock
    directory: Path


@pytest.fixture(scope="module", params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeliverySystem]:
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"delivery-{backend}")
    clock = TestClock(tmp / "clock-offset")
    extra_env = {
        "TTG_NOTIFIER_TEST_CLOCK": "1",
        "TTG_NOTIFIER_TEST_CLOCK_FILE": str(clock.path),
        "TTG_NOTIFIER_RETRY_SCHEDULE_SECONDS": json.dumps(SCHEDULE),
        "TTG_NOTIFIER_PER_ENDPOINT_CONCURRENCY": str(CONCURRENCY),
        "TTG_NOTIFIER_ATTEMPT_TIMEOUT_SECONDS": "30",
        "TTG_NOTIFIER_BREAKER_COOLDOWN_SECONDS": str(BREAKER_COOLDOWN),
        "TTG_NOTIFIER_PAUSE_AFTER_FAILING_SECONDS": str(PAUSE_AFTER),
        "TTG_NOTIFIER_DISPATCH_IDLE_SECONDS": "0.2",
    }
    running = start_system(tmp, backend, extra_env=extra_env, agencies=AGENCIES)
    try:
        yield DeliverySystem(running, clock, tmp / "directory.yaml")
    finally:
        stop_system(running)


# --- helpers ---------------------------------------------------------------------------------------------------


def notice_for(
    district: str, *, place: str = "durham", today: date | None = None, release_in_days: int = 14, **extra: Any
) -> dict[str, Any]:
    notice = release_notice(seeded_rng(), place=place, today=today, release_in_days=release_in_days, **extra)
    notice["release"]["destination"]["address"]["postcode"] = f"{district} 1AA"
    return notice


def submit(env: DeliverySystem, notice: dict[str, Any]) -> str:
    """POST a notice; return the id of the handover it opens."""
    with env.system.client("release_events") as client:
        response = client.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]
    with env.system.client("handover") as client:
        found = eventually(
            lambda: client.get("/v1/handovers", params={"notice_id": notice_id}).json(),
            what="the handover of the notice",
        )
    return str(found[0]["handover_id"])


def get(env: DeliverySystem, path: str, **params: Any) -> Any:
    """GET on the notifier as the operator, who sees every delivery (metadata only) and manages endpoints."""
    with env.system.client("notifier", as_client="operator") as client:
        response = client.get(path, params=params)
    response.raise_for_status()
    return response.json()


def deliveries(env: DeliverySystem, handover_id: str) -> list[dict[str, Any]]:
    return get(env, "/v1/deliveries", handover_id=handover_id)  # type: ignore[no-any-return]


def delivery_to(env: DeliverySystem, handover_id: str, agency: str, event_type: str | None = None) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next(
            (
                item
                for item in deliveries(env, handover_id)
                if item["agency_code"] == agency and (event_type is None or item["event_type"] == event_type)
            ),
            None,
        )

    return eventually(find, what=f"a delivery to {agency}")


def delivery(env: DeliverySystem, webhook_id: str) -> dict[str, Any]:
    return get(env, f"/v1/deliveries/{webhook_id}")  # type: ignore[no-any-return]


def drive(env: DeliverySystem, webhook_ids: list[str], timeout: float = 60.0) -> list[dict[str, Any]]:
    """Move the clock to each next attempt until every delivery is final (delivered, failed, dead-lettered).
    A delivery already due is left to the dispatcher (it may be waiting for an earlier one to the endpoint)."""

    def step() -> list[dict[str, Any]] | None:
        current = [delivery(env, webhook_id) for webhook_id in webhook_ids]
        pending = [item for item in current if item["status"] == "pending"]
        if not pending:
            return current
        now = env.clock.now()
        due = [
            at
            for item in pending
            if item["next_attempt_at"] and (at := datetime.fromisoformat(item["next_attempt_at"])) > now
        ]
        if due:
            env.clock.advance_to(min(due) + timedelta(seconds=1))
        return None

    return eventually(step, timeout=timeout, interval=0.2, what=f"deliveries {webhook_ids} to finish")


def outcome_events(env: DeliverySystem) -> list[dict[str, Any]]:
    return [json.loads(record.value) for record in read_topic(env.system.bootstrap_servers, DELIVERY_EVENTS)]


def outcomes_of(env: DeliverySystem, webhook_id: str) -> list[dict[str, Any]]:
    return [event for event in outcome_events(env) if event["data"].get("webhook_id") == webhook_id]


def verify(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return Webhook(secret).verify(body, headers)  # type: ignore[no-any-return]


def cli(env: DeliverySystem, *args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args), env={"TTG_OPERATOR_API_KEY": env.system.api_keys["operator"]})
    assert result.exit_code == 0, result.output
    return result.output


# --- scenarios -------------------------------------------------------------------------------------------------


@pytest.mark.hazard("H25")
def test_a_receiver_failing_n_times_then_succeeding_gets_it_once_with_n_plus_one_attempts(env: DeliverySystem) -> None:
    failures = [500, 503, 502]
    env.system.receiver.behave("RETRY-GP", Behaviour(statuses=[*failures, 204]))
    handover_id = submit(env, notice_for("NE1"))
    webhook_id = delivery_to(env, handover_id, "RETRY-GP")["webhook_id"]

    [final] = drive(env, [webhook_id])

    assert final["status"] == "delivered"
    assert final["attempt_count"] == len(failures) + 1
    assert [attempt["status_code"] for attempt in final["attempts"]] == [*failures, 204]
    times = [datetime.fromisoformat(attempt["attempted_at"]) for attempt in final["attempts"]]
    for index, (earlier, later) in enumerate(zip(times, times[1:], strict=False), start=1):
        assert (later - earlier).total_seconds() >= SCHEDULE[index] * 0.8, "the schedule's delay was kept"
    sent = [item for item in env.system.receiver.to("RETRY-GP") if item.headers["webhook-id"] == webhook_id]
    assert len(sent) == len(failures) + 1, "every attempt reached the receiver, with one stable webhook-id"
    answered_ok = [
        item
        for item in env.system.receiver.answered("RETRY-GP")
        if item.webhook_id == webhook_id and 200 <= item.status < 300
    ]
    assert len(answered_ok) == 1, "delivered once"
    events = eventually(lambda: outcomes_of(env, webhook_id), what="the outcome event")
    assert [event["type"] for event in events] == [EventType.DELIVERY_SUCCEEDED.value]
    assert events[0]["data"]["attempts"] == len(failures) + 1


@pytest.mark.hazard("H25")
def test_410_disables_the_endpoint_and_nothing_more_is_sent(env: DeliverySystem) -> None:
    env.system.receiver.behave("GONE-CMHT", Behaviour(statuses=[410]))
    first = delivery_to(env, submit(env, notice_for("NE2")), "GONE-CMHT")["webhook_id"]
    [gone] = drive(env, [first])
    assert gone["status"] == "failed" and gone["attempt_count"] == 1
    endpoint = next(item for item in get(env, "/v1/endpoints") if item["agency_code"] == "GONE-CMHT")
    assert endpoint["status"] == "disabled"

    second = delivery_to(env, submit(env, notice_for("NE2")), "GONE-CMHT")["webhook_id"]
    [held] = drive(env, [second])
    assert held["status"] == "failed" and held["attempt_count"] == 0
    assert "disabled" in held["last_error"]
    assert len(env.system.receiver.to("GONE-CMHT")) == 1, "nothing was sent after 410"
    assert [item["action"] for item in get(env, "/v1/delivery-audit", agency_code="GONE-CMHT")] == ["endpoint_disabled"]
    for webhook_id in (first, second):
        events = eventually(lambda w=webhook_id: outcomes_of(env, w), what="the failure events")
        assert [event["type"] for event in events] == [EventType.DELIVERY_FAILED.value]


def test_429_with_retry_after_is_not_retried_before_it(env: DeliverySystem) -> None:
    retry_after = 3600
    env.system.receiver.behave(
        "BUSY-PDU", Behaviour(statuses=[429, 204], headers_in_turn=[{"Retry-After": str(retry_after)}, {}])
    )
    handover_id = submit(env, notice_for("NE3"))
    webhook_id = delivery_to(env, handover_id, "BUSY-PDU")["webhook_id"]
    first = eventually(lambda: (d := delivery(env, webhook_id))["attempt_count"] == 1 and d, what="the first attempt")
    tried_at = datetime.fromisoformat(first["attempts"][0]["attempted_at"])
    assert datetime.fromisoformat(first["next_attempt_at"]) >= tried_at + timedelta(seconds=retry_after - 1)

    env.clock.advance(retry_after / 2)
    sentinel = delivery_to(env, submit(env, notice_for("NE1")), "RETRY-GP")["webhook_id"]
    assert drive(env, [sentinel])[0]["status"] == "delivered"  # the dispatcher has run at the later time
    assert (
        len([item for item in env.system.receiver.to("BUSY-PDU") if item.headers["webhook-id"] == webhook_id]) == 1
    ), "no attempt before Retry-After"

    [final] = drive(env, [webhook_id])
    assert final["status"] == "delivered"
    second_at = datetime.fromisoformat(final["attempts"][1]["attempted_at"])
    assert second_at - tried_at >= timedelta(seconds=retry_after)


@pytest.mark.hazard("H30")
def test_a_hanging_receiver_does_not_hold_up_the_others(env: DeliverySystem) -> None:
    release = threading.Event()
    env.system.receiver.behave("HANG-GP", Behaviour(hang_until=release))
    try:
        handovers = [submit(env, notice_for("NE4")) for _ in range(CONCURRENCY + 3)]

        def others_all_delivered() -> bool:
            found = [
                item
                for handover_id in handovers
                for item in deliveries(env, handover_id)
                if item["agency_code"] in ("FAST-CMHT", "FAST-PDU")
            ]
            return len(found) == 2 * len(handovers) and all(item["status"] == "delivered" for item in found)

        eventually(others_all_delivered, what="every delivery to the other endpoints")
        # ... while the hanging endpoint still holds its first attempts, unanswered:
        hanging = [
            item
            for handover_id in handovers
            for item in deliveries(env, handover_id)
            if item["agency_code"] == "HANG-GP"
        ]
        assert len(hanging) == len(handovers)
        assert all(item["status"] == "pending" and item["attempt_count"] == 0 for item in hanging)
        in_flight = len(env.system.receiver.to("HANG-GP")) - len(env.system.receiver.answered("HANG-GP"))
        assert 1 <= in_flight <= CONCURRENCY, "the hanging endpoint has requests in flight, within its own limit"
    finally:
        release.set()
    finished = drive(env, [item["webhook_id"] for item in hanging])
    assert all(item["status"] == "delivered" for item in finished)


@pytest.mark.hazard("H26")
def test_issued_amended_withdrawn_reach_one_endpoint_in_order_despite_failures(env: DeliverySystem) -> None:
    """The real sequence: a notice, its release date brought forward, then the release cancelled; the mental-
    health team's endpoint fails each message once, yet receives them in order."""
    env.system.receiver.behave("ORDER-CMHT", Behaviour(statuses=[500, 204, 503, 204, 500, 204]))
    notice = notice_for("NE7")
    handover_id = submit(env, notice)
    delivery_to(env, handover_id, "ORDER-CMHT", "handover.pack.issued")
    earlier = (date.fromisoformat(notice["release"]["date"]) - timedelta(days=2)).isoformat()
    for change in (
        custody_event(notice["prison_number"], "release_date_changed", sequence=1, release_date=earlier),
        custody_event(notice["prison_number"], "release_cancelled", sequence=2, detail="Further charges"),
    ):
        with env.system.client("release_events") as client:
            assert client.post("/v1/custody-events", json=change).status_code == 202

    def to_the_team() -> list[dict[str, Any]]:
        return [item for item in deliveries(env, handover_id) if item["agency_code"] == "ORDER-CMHT"]

    planned = eventually(lambda: len(found := to_the_team()) == 3 and found, what="three deliveries planned")
    final = drive(env, [item["webhook_id"] for item in planned])

    assert [item["status"] for item in final] == ["delivered"] * 3
    by_id = {item["webhook_id"]: item["event_type"] for item in final}
    seen = [
        (by_id[item.webhook_id], item.status)
        for item in env.system.receiver.answered("ORDER-CMHT")
        if item.webhook_id in by_id
    ]
    assert seen == [
        ("handover.pack.issued", 500),
        ("handover.pack.issued", 204),
        ("handover.pack.amended", 503),
        ("handover.pack.amended", 204),
        ("handover.pack.withdrawn", 500),
        ("handover.pack.withdrawn", 204),
    ]


@pytest.mark.hazard("H25")
def test_dead_letter_pauses_tells_and_a_replay_is_delivered_and_audited(env: DeliverySystem) -> None:
    env.system.receiver.behave("DEAD-SMS", Behaviour(statuses=[500] * len(SCHEDULE) + [204]))
    handover_id = submit(env, notice_for("NE8", substance_misuse=True))  # so the substance-misuse service is asked
    webhook_id = delivery_to(env, handover_id, "DEAD-SMS")["webhook_id"]

    [dead] = drive(env, [webhook_id])
    assert dead["status"] == "dead_lettered" and dead["attempt_count"] == len(SCHEDULE)
    notifier_url = env.system.stack.url("notifier")
    assert webhook_id in cli(env, "dead-letters", "list", "--notifier-url", notifier_url, "--agency", "DEAD-SMS")
    events = eventually(lambda: outcomes_of(env, webhook_id), what="the dead-letter event")
    assert [event["type"] for event in events] == [EventType.DELIVERY_DEAD_LETTERED.value]
    # the outcome flows back: the prison sees that the referral never reached the service
    lost = eventually(
        lambda: (r := substance_misuse_readiness(env, handover_id))["delivery"] == "dead_lettered" and r,
        what="readiness to know the referral was dead-lettered",
    )
    assert lost["status"] == "at_risk" and "never reached" in lost["detail"]

    # failing for longer than PAUSE_AFTER: paused, its owner and the prison's healthcare team told
    eventually(
        lambda: (
            next(item for item in get(env, "/v1/endpoints") if item["agency_code"] == "DEAD-SMS")["status"] == "paused"
        ),
        what="the endpoint paused",
    )
    paused = eventually(
        lambda: [
            e
            for e in outcome_events(env)
            if e["type"].endswith("endpoint.paused") and e["data"]["agency_code"] == "DEAD-SMS"
        ],
        what="the endpoint-paused event",
    )
    assert paused[0]["data"]["owner_contact"] == "dead-sms@example.org"
    assert paused[0]["data"]["establishments_told"] == ["DMI"]
    told = eventually(
        lambda: [
            item
            for item in env.system.receiver.to("HCC-DMI")
            if item.json["type"] == "endpoint.paused" and item.json["data"]["handover_id"] == handover_id
        ],
        what="the prison told",
    )
    verify(env.system.secrets["HCC-DMI"], told[0].body, told[0].headers)

    assert "active" in cli(env, "endpoints", "resume", "DEAD-SMS", "--notifier-url", notifier_url)
    assert webhook_id in cli(env, "dead-letters", "replay", webhook_id, "--notifier-url", notifier_url)
    env.clock.advance(BREAKER_COOLDOWN + 1)  # the endpoint's circuit, opened by the run of failures, may close
    [replayed] = drive(env, [webhook_id])

    assert replayed["status"] == "delivered" and replayed["replays"] == 1
    assert replayed["attempt_count"] == len(SCHEDULE) + 1
    sent = [item for item in env.system.receiver.to("DEAD-SMS") if item.headers["webhook-id"] == webhook_id]
    assert len(sent) == len(SCHEDULE) + 1, "the replay is the same message (same webhook-id)"
    trail = get(env, "/v1/delivery-audit", webhook_id=webhook_id)
    assert [item["action"] for item in trail] == ["delivery_replayed", "replay_delivered"]
    assert trail[0]["actor"]
    events = eventually(
        lambda: len(found := outcomes_of(env, webhook_id)) == 2 and found, what="the delivered-after-replay event"
    )
    assert events[1]["type"] == EventType.DELIVERY_SUCCEEDED.value and events[1]["data"]["replays"] == 1
    arrived = eventually(
        lambda: (r := substance_misuse_readiness(env, handover_id))["delivery"] == "delivered" and r,
        what="readiness to know the replay arrived",
    )
    assert "never reached" not in arrived["detail"]


def substance_misuse_readiness(env: DeliverySystem, handover_id: str) -> dict[str, Any]:
    """The substance-misuse item of the handover's readiness, as its prison sees it, with its delivery status."""
    with env.system.client("handover") as client:
        view = client.get(f"/v1/handovers/{handover_id}").json()
    item = next(i for i in view["readiness"]["items"] if i["item"] == "substance_misuse_referral")
    referral = next(r for r in view["referrals"] if r["referral_kind"] == "substance_misuse")
    return {**item, "delivery": referral["delivery_status"]}


@pytest.mark.hazard("H18")
def test_signatures_verify_with_standardwebhooks_also_across_a_secret_rotation(env: DeliverySystem) -> None:
    receiver = env.system.receiver
    old = env.system.secrets["ROT-GP"]

    def deliver_one() -> Any:
        handover_id = submit(env, notice_for("NE6"))
        webhook_id = delivery_to(env, handover_id, "ROT-GP")["webhook_id"]
        assert drive(env, [webhook_id])[0]["status"] == "delivered"
        return next(item for item in receiver.to("ROT-GP") if item.headers["webhook-id"] == webhook_id)

    before = deliver_one()
    assert verify(old, before.body, before.headers)["type"] == "handover.pack.issued"
    assert len(before.headers["webhook-signature"].split(" ")) == 1

    # The operator replaces the secret through the directory API, the current one kept signing for an hour of
    # the notifier's (test) clock; the notifier follows without a restart.
    new = "whsec_" + "bmV3LXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM="
    overlap_ends = env.clock.now() + timedelta(hours=1)
    with env.system.client("handover", as_client="operator") as client:
        entry = client.get("/v1/directory/agencies/ROT-GP").json()
        body = {key: value for key, value in entry.items() if key not in ("source", "revision")}
        body["webhook"] = {
            "url": entry["webhook"]["url"],
            "secret": new,
            "previous_secrets": [{"secret_ref": entry["webhook"]["secret_ref"], "until": overlap_ends.isoformat()}],
        }
        changed = client.put("/v1/directory/agencies/ROT-GP", json=body)
    assert changed.status_code == 200, changed.text
    env.system.secrets = {**env.system.secrets, "ROT-GP": new}
    eventually(
        lambda: any(
            item["agency_code"] == "ROT-GP" and item["revision"] == changed.json()["revision"]
            for item in get(env, "/v1/endpoints")
        ),
        what="the notifier to follow the rotation",
    )

    during = deliver_one()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, during.body, during.headers)["type"] == "handover.pack.issued", "old secret still verifies"
    assert verify(new, during.body, during.headers)["type"] == "handover.pack.issued", "new secret verifies"

    env.clock.advance_to(overlap_ends + timedelta(minutes=1))
    after = deliver_one()
    assert verify(new, after.body, after.headers)["type"] == "handover.pack.issued"
    with pytest.raises(Exception, match="(?i)signature"):
        verify(old, after.body, after.headers)


@pytest.mark.hazard("H17", "H25")
def test_killed_and_restarted_mid_schedule_resumes_loses_nothing_and_resends_nothing_acknowledged(
    env: DeliverySystem,
) -> None:
    receiver, stack = env.system.receiver, env.system.stack
    receiver.behave("CRASH-GP", Behaviour(statuses=[500, 500, 204]))
    handover_id = submit(env, notice_for("NE5"))
    gp = delivery_to(env, handover_id, "CRASH-GP")["webhook_id"]
    cmht = delivery_to(env, handover_id, "CRASH-CMHT")["webhook_id"]
    eventually(lambda: delivery(env, cmht)["status"] == "delivered", what="the CMHT delivery")
    eventually(lambda: delivery(env, gp)["attempt_count"] == 1, what="the GP's first failed attempt")

    stack.stop_service("notifier", kill=True)  # kill -9, in the middle of the GP's schedule
    stack.start_service("notifier")
    stack.wait_healthy("notifier")

    [gp_final, cmht_final] = drive(env, [gp, cmht])
    assert gp_final["status"] == "delivered" and gp_final["attempt_count"] == 3
    assert cmht_final["status"] == "delivered" and cmht_final["attempt_count"] == 1
    assert len([item for item in receiver.to("CRASH-CMHT") if item.headers["webhook-id"] == cmht]) == 1
    assert len([item for item in receiver.to("CRASH-GP") if item.headers["webhook-id"] == gp]) == 3
    assert len([item for item in receiver.answered("CRASH-GP") if item.webhook_id == gp and item.status == 204]) == 1
    for webhook_id in (gp, cmht):
        events = eventually(lambda w=webhook_id: outcomes_of(env, w), what="outcome events after the restart")
        assert [event["type"] for event in events] == [EventType.DELIVERY_SUCCEEDED.value]


@pytest.mark.hazard("H27")
def test_an_unanswered_referral_escalates_once_per_deadline(env: DeliverySystem) -> None:
    """Two Teesside people referred to the same mental-health team: it accepts one through the handover API
    (a real answer event), and leaves the other unanswered; only the unanswered one escalates."""
    receiver = env.system.receiver
    notice = notice_for("TS1", place="teesside", today=env.clock.now().date(), release_in_days=10)
    answered_notice = notice_for("TS3", place="teesside", today=env.clock.now().date(), release_in_days=10)
    handover_id, answered_id = submit(env, notice), submit(env, answered_notice)
    drive(env, [delivery_to(env, handover_id, "CMHT-TEES")["webhook_id"]])
    drive(env, [delivery_to(env, answered_id, "CMHT-TEES")["webhook_id"]])

    [sent] = [
        item.json["data"] for item in receiver.to("CMHT-TEES") if item.json["data"].get("handover_id") == answered_id
    ]
    appointment = date.fromisoformat(answered_notice["release"]["date"]) + timedelta(days=2)
    with env.system.client("handover", as_client="agency-CMHT-TEES") as client:
        accepted = client.post(
            f"/v1/agencies/CMHT-TEES/referrals/{sent['referral_id']}/answers",
            json={
                "answer": "accepted",
                "first_appointment": {
                    "at": f"{appointment.isoformat()}T10:00:00+00:00",
                    "place": "Teesside community hub",
                },
            },
        )
    assert accepted.status_code == 201, accepted.text
    eventually(
        lambda: (
            (r := {i["agency_code"]: i for i in get(env, "/v1/referrals", handover_id=answered_id)})
            and r.get("CMHT-TEES", {}).get("answered_at")
        ),
        what="the team's answer to reach the notifier",
    )
    referrals = {i["agency_code"]: i for i in get(env, "/v1/referrals", handover_id=handover_id)}
    assert referrals["CMHT-TEES"]["answered_at"] is None and referrals["CMHT-TEES"]["delivered_at"]
    assert get(env, "/v1/escalations", handover_id=handover_id) == []

    def escalations(count: int) -> list[dict[str, Any]]:
        return eventually(
            lambda: len(found := get(env, "/v1/escalations", handover_id=handover_id)) >= count and found,
            what=f"{count} escalation(s)",
        )

    env.clock.advance(73 * 3600)
    [first] = escalations(1)
    assert first["agency_code"] == "CMHT-TEES" and first["deadline"] == "after_delivery"
    assert first["told"] == ["HCC-HHI", "RECONNECT-TEES"]

    release_day = date.fromisoformat(notice["release"]["date"])
    before_release = datetime.combine(release_day, time(0, 0), tzinfo=ZoneInfo("Europe/London")) - timedelta(hours=24)
    env.clock.advance_to(before_release + timedelta(hours=1))
    found = escalations(2)
    assert [(item["agency_code"], item["deadline"]) for item in found] == [
        ("CMHT-TEES", "after_delivery"),
        ("CMHT-TEES", "before_release"),
    ]

    def escalation_webhooks(agency: str) -> list[Any]:
        return [
            item
            for item in receiver.to(agency)
            if item.json["type"] == "handover.referral.escalated" and item.json["data"]["handover_id"] == handover_id
        ]

    for agency in ("HCC-HHI", "RECONNECT-TEES"):
        sent = eventually(
            lambda a=agency: len(found := escalation_webhooks(a)) == 2 and found, what=f"both escalations at {agency}"
        )
        for item in sent:
            assert verify(env.system.secrets[agency], item.body, item.headers)["data"]["agency_code"] == "CMHT-TEES"
    events = eventually(
        lambda: (
            len(
                found := [
                    e
                    for e in outcome_events(env)
                    if e["type"].endswith("referral.escalated") and e["data"]["handover_id"] == handover_id
                ]
            )
            == 2
            and found
        ),
        what="the escalation events",
    )
    assert {event["data"]["deadline"] for event in events} == {"after_delivery", "before_release"}
    trail = get(env, "/v1/delivery-audit", handover_id=handover_id)
    audited = [item for item in trail if item["action"] == "referral_escalated"]
    assert len(audited) == 2
    # once per deadline: later scans (the clock moved on, the scan runs every second) add nothing
    env.clock.advance(3600)
    sentinel = delivery_to(env, submit(env, notice_for("NE1")), "RETRY-GP")["webhook_id"]
    drive(env, [sentinel])
    assert len(get(env, "/v1/escalations", handover_id=handover_id)) == 2
    assert len(escalation_webhooks("HCC-HHI")) == 2
    assert get(env, "/v1/escalations", handover_id=answered_id) == [], "an accepted referral never escalates"
