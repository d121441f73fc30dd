"""Issue 12: single faults on real parts, and the operator's way back from a Kafka retention accident.

- an operator replays the outbox of a window (``ttg outbox replay --since``): every consumer discards the copies;
- case 2: the broker restarts while notices are accepted and delivered (load in a thread), and the relays
  themselves (release_events, handover) are killed with SIGKILL while they publish, then restarted;
- case 3: another process holds the write lock of a service's SQLite file past the busy timeout;
- case 5: a receiver has the webhook when the notifier dies, before it could record the answer;
- case 6: an endpoint down for 10 minutes, then flapping, and the test clock jumping past the delivery leases.

Invariants checked each time against real receivers that verify every signature: every notice has its pack,
once; every agency gets each message, repeats only under the same webhook-id; per-person order at each endpoint.
The notifier of the shared system runs on its test clock (``services/notifier/adapters/offset_clock.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from services.common.topics import CUSTODY_EVENTS, DELIVERY_EVENTS, HANDOVER_EVENTS
from services.notifier.adapters.offset_clock import write_offset
from tests.conftest import BACKENDS, require_backend
from tests.support.kafka import group_has_read_everything, read_topic
from tests.support.polling import eventually
from tests.support.receiver import Behaviour, Received
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, start_system, stop_system
from ttg.cli import app as cli_app
from ttg.synthetic import custody_event, release_notice

pytestmark = pytest.mark.acceptance

SLOW = 120.0  # a consumer group joining a new broker, relays publishing again
LEASE = 60.0
COOLDOWN = 5.0
# Long enough that 10 minutes down and then flapping never spend it: nothing is dead-lettered.
SCHEDULE = [0, 30, 60, 120, 240, 480, 600, 600, 600, 600, 600, 600, 600, 600, 600, 600]
AREAS = {"load": "NE10", "replay": "NE11", "crash": "NE12", "outage": "NE13", "locked": "NE14"}


def _trio(name: str, district: str) -> list[dict[str, Any]]:
    """A GP practice, a mental-health team and a probation unit covering one district of its own."""
    kinds = {"GP": "gp_practice", "CMHT": "community_mental_health_team", "PDU": "probation_delivery_unit"}
    return [
        {"code": f"{prefix}-{name.upper()}", "kind": kind, "districts": [district], "authorities": []}
        for prefix, kind in kinds.items()
    ]


def _prison(code: str) -> dict[str, Any]:
    return {
        "code": f"HCC-{code}",
        "kind": "prison_healthcare",
        "districts": [],
        "authorities": [],
        "establishments": [code],
    }


AGENCIES = [agency for name, district in AREAS.items() for agency in _trio(name, district)] + [
    _prison(code) for code in ("DMI", "HHI", "BMI")
]


def codes(area: str) -> set[str]:
    return {f"{prefix}-{area.upper()}" for prefix in ("GP", "CMHT", "PDU")}


@dataclass
class Faults:
    system: RunningSystem
    clock_file: Path
    offset: float = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        write_offset(self.clock_file, self.offset)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    """One system per backend for the faults that leave it running (each scenario has its own agencies)."""
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"faults-{backend}")
    clock_file = tmp / "clock-offset"
    extra_env = {
        "TTG_NOTIFIER_TEST_CLOCK": "1",
        "TTG_NOTIFIER_TEST_CLOCK_FILE": str(clock_file),
        "TTG_NOTIFIER_RETRY_SCHEDULE_SECONDS": json.dumps(SCHEDULE),
        "TTG_NOTIFIER_LEASE_SECONDS": str(LEASE),
        "TTG_NOTIFIER_BREAKER_COOLDOWN_SECONDS": str(COOLDOWN),
        "TTG_NOTIFIER_DISPATCH_IDLE_SECONDS": "0.2",
    }
    running = start_system(tmp, backend, extra_env=extra_env, agencies=AGENCIES)
    try:
        yield Faults(running, clock_file)
    finally:
        stop_system(running)


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningSystem]]:
    """A system of the test's own: its broker is restarted and its processes killed."""
    backend: str = request.param
    require_backend(backend)
    holder = [start_system(tmp_path_factory.mktemp(f"faults-fresh-{backend}"), backend, agencies=AGENCIES)]
    try:
        yield holder
    finally:
        stop_system(holder[0])


# --- helpers ---------------------------------------------------------------------------------------------------


def notice_in(area: str) -> dict[str, Any]:
    notice = release_notice(seeded_rng(), place="durham")
    notice["release"]["destination"]["address"]["postcode"] = f"{AREAS[area]} 1AA"
    return notice


def submit(
    system: RunningSystem, notice: dict[str, Any], key: str | None = None, timeout: float = 10.0
) -> httpx.Response:
    with httpx.Client(base_url=system.stack.url("release_events"), timeout=timeout) as client:
        return client.post(
            "/v1/release-notices",
            json=notice,
            headers={
                "Authorization": f"Bearer {system.api_keys['prison-all']}",
                "Idempotency-Key": key or str(uuid.uuid4()),
            },
        )


def accepted(system: RunningSystem, notice: dict[str, Any]) -> str:
    answer = submit(system, notice)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["notice_id"])


def handovers_of(system: RunningSystem, notice_id: str) -> list[dict[str, Any]]:
    with system.client("handover") as client:
        answer = client.get("/v1/handovers", params={"notice_id": notice_id})
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def handover_id_of(system: RunningSystem, notice_id: str, timeout: float = SLOW) -> str:
    found = eventually(lambda: handovers_of(system, notice_id), timeout=timeout, what="the handover of the notice")
    return str(found[0]["handover_id"])


def deliveries(system: RunningSystem, handover_id: str) -> list[dict[str, Any]]:
    with system.client("notifier", "operator") as client:
        answer = client.get("/v1/deliveries", params={"handover_id": handover_id})
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def all_delivered(system: RunningSystem, handover_id: str, agencies: set[str], count: int | None = None) -> bool:
    found = [item for item in deliveries(system, handover_id) if item["agency_code"] in agencies]
    expected = len(agencies) if count is None else count
    return len(found) == expected and all(item["status"] == "delivered" for item in found)


def wait_delivered(system: RunningSystem, handover_ids: list[str], agencies: set[str], timeout: float = SLOW) -> None:
    for handover_id in handover_ids:
        eventually(
            lambda h=handover_id: all_delivered(system, h, agencies),
            timeout=timeout,
            what=f"every delivery of {handover_id}",
        )


def consumers_caught_up(system: RunningSystem) -> None:
    """Every consumer group has read its topics to the end: a copy applied twice would have shown by now."""
    groups = [
        ("handover", CUSTODY_EVENTS),
        ("notifier", HANDOVER_EVENTS),
        ("release-events", HANDOVER_EVENTS),
        ("release-events", DELIVERY_EVENTS),
        ("handover-delivery-outcomes", DELIVERY_EVENTS),
    ]
    for group, topic in groups:
        eventually(
            lambda g=group, t=topic: asyncio.run(group_has_read_everything(system.bootstrap_servers, g, t)),
            timeout=SLOW,
            interval=0.5,
            what=f"{group} to read all of {topic}",
        )


def message_key(item: Received) -> tuple[str, str, str, str]:
    body = item.json
    data = body.get("data", {})
    return item.agency_code, str(body.get("type")), str(data.get("handover_id")), str(data.get("version"))


def assert_one_webhook_id_per_message(system: RunningSystem, agencies: set[str]) -> Counter[str]:
    """Each message reached its agency under one webhook-id, every copy verifies; returns repeats per id."""
    ids: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    copies: Counter[str] = Counter()
    for item in system.receiver.matching(lambda item: item.agency_code in agencies):
        Webhook(system.secrets[item.agency_code]).verify(item.body, item.headers)
        ids[message_key(item)].add(item.headers["webhook-id"])
        copies[item.headers["webhook-id"]] += 1
    assert {key: found for key, found in ids.items() if len(found) > 1} == {}, "a message went under two ids"
    return Counter({webhook_id: n - 1 for webhook_id, n in copies.items() if n > 1})


def assert_one_pack_each(system: RunningSystem, notice_ids: list[str]) -> None:
    for notice_id in notice_ids:
        found = handovers_of(system, notice_id)
        assert len(found) == 1 and found[0]["version"] == 1, f"one pack, version 1, for {notice_id}"


# --- the operator's replay ------------------------------------------------------------------------------------


def replay_cli(system: RunningSystem, *args: str, key: str = "operator") -> tuple[int, str]:
    urls = [
        f"--{name.replace('_', '-')}-url={system.stack.url(name)}"
        for name in ("release_events", "handover", "notifier")
    ]
    result = CliRunner().invoke(
        cli_app, ["outbox", "replay", *args, *urls], env={"TTG_OPERATOR_API_KEY": system.api_keys[key]}
    )
    return result.exit_code, result.output


def event_ids_on(system: RunningSystem, topic: str, subjects: set[str]) -> Counter[str]:
    records = [json.loads(record.value) for record in read_topic(system.bootstrap_servers, topic)]
    return Counter(event["id"] for event in records if event.get("subject") in subjects)


@pytest.mark.hazard("H84")
def test_an_operator_replays_a_window_and_every_consumer_applies_each_event_once(shared: Faults) -> None:
    system = shared.system
    since = datetime.now(UTC) - timedelta(seconds=1)
    notices = [notice_in("replay") for _ in range(3)]
    notice_ids = [accepted(system, notice) for notice in notices]
    handover_ids = [handover_id_of(system, notice_id) for notice_id in notice_ids]
    wait_delivered(system, handover_ids, codes("replay"))
    sent_before = len(system.receiver.matching(lambda item: item.agency_code in codes("replay")))

    for who in ("prison-all", "agency-GP-REPLAY", "agency-PDU-REPLAY"):
        for service in ("release_events", "handover", "notifier"):
            with system.client(service, who) as client:
                refused = client.post("/v1/outbox/replay", json={"since": since.isoformat()})
            assert refused.status_code == 403, (who, service, refused.text)
    code, output = replay_cli(system, "--since", (datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert code == 1 and "Replay window refused" in output and "future" in output

    code, output = replay_cli(system, "--since", since.isoformat())
    assert code == 0, output
    taken = {name: int(rows) for name, rows in re.findall(r"^(\w+): (\d+) events", output, re.MULTILINE)}
    assert taken["release_events"] >= 3 and taken["handover"] >= 3 and taken["notifier"] >= 9, output

    subjects = {notice["prison_number"] for notice in notices}
    for topic in (CUSTODY_EVENTS, HANDOVER_EVENTS):
        eventually(
            lambda t=topic: (ids := event_ids_on(system, t, subjects)) and min(ids.values()) >= 2,
            timeout=SLOW,
            what=f"every event of the window on {topic} twice (published again)",
        )
    consumers_caught_up(system)
    assert_one_pack_each(system, notice_ids)
    for handover_id in handover_ids:
        assert all_delivered(system, handover_id, codes("replay")), "no delivery planned twice"
    for notice_id in notice_ids:  # release_events' progress: each delivery once, still delivered
        with system.client("release_events") as client:
            status = client.get(f"/v1/release-notices/{notice_id}").json()
        assert status["status"] == "pack_issued"
        assert sorted((item["agency_code"], item["state"]) for item in status["deliveries"]) == sorted(
            (code, "delivered") for code in codes("replay")
        )
    assert len(system.receiver.matching(lambda item: item.agency_code in codes("replay"))) == sent_before
    assert_one_webhook_id_per_message(system, codes("replay"))
    for service in ("release_events", "handover", "notifier"):
        with system.client(service, "operator") as client:
            trail = client.get("/v1/audit", params={"limit": 1000}).json()
        [record] = [item for item in trail if item["action"] == "outbox.replayed"]
        assert record["actor"] == "operator" and record["details"]["rows"] == taken[service]


# --- case 5: the receiver has it, the notifier dies before recording it ---------------------------------------


@pytest.mark.hazard("H86")
def test_a_webhook_answered_as_the_notifier_dies_comes_again_under_the_same_webhook_id(shared: Faults) -> None:
    system, stack = shared.system, shared.system.stack
    killed = threading.Event()

    def kill_the_notifier(_: Received) -> None:
        if not killed.is_set():
            stack.stop_service("notifier", kill=True)  # SIGKILL before the receiver answers 204
            killed.set()

    system.receiver.behave("GP-CRASH", Behaviour(statuses=[204], on_request=kill_the_notifier))
    handover_id = handover_id_of(system, accepted(system, notice_in("crash")))
    eventually(killed.is_set, what="the notifier killed as the GP practice received its webhook")
    [first] = system.receiver.to("GP-CRASH")
    webhook_id = first.headers["webhook-id"]
    eventually(
        lambda: [item.status for item in system.receiver.answered("GP-CRASH")] == [204],
        what="the receiver's 204, which nobody heard",
    )

    stack.start_service("notifier")
    stack.wait_healthy("notifier")
    shared.advance(LEASE + 5)  # the dead sender's lease runs out
    wait_delivered(system, [handover_id], codes("crash"))

    copies = system.receiver.to("GP-CRASH")
    assert [item.headers["webhook-id"] for item in copies] == [webhook_id, webhook_id], "again, under the same id"
    assert copies[0].body == copies[1].body
    for item in copies:
        Webhook(system.secrets["GP-CRASH"]).verify(item.body, item.headers)
    assert assert_one_webhook_id_per_message(system, codes("crash"))[webhook_id] == 1
    with system.client("notifier", "operator") as client:
        recorded = client.get(f"/v1/deliveries/{webhook_id}").json()
    assert recorded["status"] == "delivered"
    assert [attempt["status_code"] for attempt in recorded["attempts"]] == [204], "the unheard answer left no trace"
    outcomes = [json.loads(record.value) for record in read_topic(system.bootstrap_servers, DELIVERY_EVENTS)]
    assert [event["type"] for event in outcomes if event["data"].get("webhook_id") == webhook_id] == [
        "uk.nhs.ttg.delivery.succeeded"
    ], "recorded delivered once"


# --- case 6: down 10 minutes, flapping, leases passed ---------------------------------------------------------


def drive(shared: Faults, handover_ids: list[str], agencies: set[str], *, until_offset: float | None = None) -> None:
    """Move the notifier's clock to each next attempt (past an open circuit's cooldown when nothing is ahead)
    until every delivery is final, or until the clock has moved ``until_offset`` seconds."""

    def step() -> bool:
        current = [
            item for h in handover_ids for item in deliveries(shared.system, h) if item["agency_code"] in agencies
        ]
        pending = [item for item in current if item["status"] == "pending"]
        if until_offset is not None and shared.offset >= until_offset:
            return True
        if current and not pending:
            return True
        now = shared.now()
        ahead = [
            at
            for item in pending
            if item["next_attempt_at"] and (at := datetime.fromisoformat(item["next_attempt_at"])) > now
        ]
        shared.advance(((min(ahead) - now).total_seconds() if ahead else COOLDOWN) + 1)
        return False

    eventually(step, timeout=SLOW, interval=0.3, what="the deliveries to go through the schedule")


# PostgreSQL only: its claims take leases with SKIP LOCKED, as in production; SQLite's claims have the same rules
# and meet this case in the chaos runs' kills (CI time is kept for cases no other test covers).
@pytest.mark.parametrize("shared", ["postgresql"], indirect=True)
def test_an_endpoint_down_ten_minutes_then_flapping_gets_everything_in_order_after_leases_pass(shared: Faults) -> None:
    system, receiver = shared.system, shared.system.receiver
    agencies = codes("outage")
    for code in agencies:
        receiver.behave(code, Behaviour(statuses=[503]))
    notices = [notice_in("outage") for _ in range(3)]
    handover_ids = [handover_id_of(system, accepted(system, notice)) for notice in notices]
    for notice in notices:  # then each release date moves: an amended pack, after the issued one
        later = (date.fromisoformat(notice["release"]["date"]) + timedelta(days=3)).isoformat()
        change = custody_event(notice["prison_number"], "release_date_changed", sequence=1, release_date=later)
        with system.client("release_events") as client:
            assert client.post("/v1/custody-events", json=change).status_code == 202
    for handover_id in handover_ids:
        eventually(
            lambda h=handover_id: len([d for d in deliveries(system, h) if d["agency_code"] in agencies]) == 6,
            what="issued and amended planned",
        )

    start = shared.offset
    drive(shared, handover_ids, agencies, until_offset=start + 600)  # ten minutes down on the test clock
    down = [d for h in handover_ids for d in deliveries(system, h) if d["agency_code"] in agencies]
    assert all(d["status"] == "pending" for d in down), "ten minutes down: retried, not given up"
    assert all(a.status == 503 for code in agencies for a in receiver.answered(code))
    assert min(len(receiver.answered(code)) for code in agencies) >= 3, "the endpoints were tried while down"

    release = threading.Event()
    receiver.behave("PDU-OUTAGE", Behaviour(statuses=[204], hang_until=release))
    for code in ("GP-OUTAGE", "CMHT-OUTAGE"):
        receiver.behave(code, Behaviour(statuses=[503, 204] * 10 + [204]))
    shared.advance(SCHEDULE[-1] * 1.2 + 1)  # every pending delivery due (the schedule has 20 % jitter)
    eventually(
        lambda: receiver.to("PDU-OUTAGE") and len(receiver.to("PDU-OUTAGE")) > len(receiver.answered("PDU-OUTAGE")),
        what="a request in flight to the hanging endpoint",
    )
    shared.advance(LEASE + 1)  # the clock jumps past the leases of what is in flight
    release.set()
    drive(shared, handover_ids, agencies)

    for handover_id in handover_ids:
        found = [d for d in deliveries(system, handover_id) if d["agency_code"] in agencies]
        assert [d["status"] for d in found] == ["delivered"] * 6, found
    with system.client("notifier", "operator") as client:
        dead = [item for item in client.get("/v1/dead-letters").json() if item["agency_code"] in agencies]
    assert dead == []
    assert_one_webhook_id_per_message(system, agencies)
    acknowledged = Counter(a.webhook_id for code in agencies for a in receiver.answered(code) if a.status < 300)
    print(f"acknowledged more than once (same webhook-id): {sum(n > 1 for n in acknowledged.values())}")
    for code in agencies:  # per person, the amended pack only ever went after the issued one was acknowledged
        answers = receiver.answered(code)
        for handover_id in handover_ids:
            kinds = {
                d["webhook_id"]: d["event_type"] for d in deliveries(system, handover_id) if d["agency_code"] == code
            }
            issued_ok = min(
                a.at for a in answers if kinds.get(a.webhook_id) == "handover.pack.issued" and a.status < 300
            )
            amended_sent = min(
                r.at for r in receiver.to(code) if kinds.get(r.headers["webhook-id"]) == "handover.pack.amended"
            )
            assert issued_ok <= amended_sent, (code, handover_id)


# --- case 2: the broker restarts under load, the relays are killed while they publish --------------------------


class Load(threading.Thread):
    """A prison's system: submits notices one after another, each with its own Idempotency-Key, and follows each
    to "published" before the next; sends the same request again (same key) while release_events is away or
    busy. Runs until ``stop`` is set (or its notices run out)."""

    def __init__(self, system: RunningSystem, notices: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.system, self.notices = system, notices
        self.notice_ids: list[str] = []
        self.retries = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for notice in self.notices:
                if self.stop.is_set():
                    return
                key = str(uuid.uuid4())
                notice_id = eventually(lambda n=notice, k=key: self._send(n, k), timeout=SLOW, interval=0.2)
                eventually(lambda n=notice_id: self._published(n), timeout=SLOW, interval=0.1, what="published")
                self.notice_ids.append(notice_id)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            self.error = error

    def _send(self, notice: dict[str, Any], key: str) -> str | None:
        try:
            answer = submit(self.system, notice, key)
        except httpx.HTTPError:
            self.retries += 1
            return None
        if answer.status_code in (200, 202):
            return str(answer.json()["notice_id"])
        assert answer.status_code >= 500, answer.text
        self.retries += 1
        return None

    def _published(self, notice_id: str) -> bool:
        try:
            with self.system.client("release_events") as client:
                answer = client.get(f"/v1/release-notices/{notice_id}")
        except httpx.HTTPError:
            self.retries += 1
            return False
        return answer.status_code == 200 and answer.json()["status"] != "accepted"


def kill_and_restart(system: RunningSystem, service: str) -> None:
    system.stack.stop_service(service, kill=True)
    system.stack.start_service(service)
    system.stack.wait_healthy(service)


# SQLite only: on PostgreSQL the chaos profile CI runs (test_chaos.py) restarts the broker and kills every
# service, relays included, under load.
@pytest.mark.parametrize("fresh", ["sqlite"], indirect=True)
def test_broker_restart_under_load_and_relays_killed_while_publishing_lose_nothing_and_apply_nothing_twice(
    fresh: list[RunningSystem],
) -> None:
    system = fresh[0]
    load = Load(system, [notice_in("load") for _ in range(80)])
    load.start()

    def more_accepted(than: int) -> int:
        return eventually(lambda: len(load.notice_ids) >= than + 3 and len(load.notice_ids), timeout=SLOW)

    accepted_so_far = more_accepted(0)
    old_cluster = system.stack.broker.cluster_id
    system.stack.broker.restart()  # empty, new cluster id: the relays take back their rows and publish again
    assert system.stack.broker.cluster_id != old_cluster
    accepted_so_far = more_accepted(accepted_so_far)
    kill_and_restart(system, "release_events")  # SIGKILL while its relay publishes, the load going on
    accepted_so_far = more_accepted(accepted_so_far)
    kill_and_restart(system, "handover")  # SIGKILL while it applies notices and publishes packs
    more_accepted(accepted_so_far)
    load.stop.set()
    load.join(SLOW)
    assert not load.is_alive() and load.error is None, load.error
    assert load.retries > 0, "the load met release_events while it was down"
    assert len(set(load.notice_ids)) == len(load.notice_ids), "every notice accepted once"

    handover_ids = [handover_id_of(system, notice_id) for notice_id in load.notice_ids]
    wait_delivered(system, handover_ids, codes("load"))
    consumers_caught_up(system)
    assert_one_pack_each(system, load.notice_ids)
    repeats = assert_one_webhook_id_per_message(system, codes("load"))
    received = {message_key(item) for item in system.receiver.matching(lambda item: item.agency_code in codes("load"))}
    assert len(received) == 3 * len(handover_ids), "each agency got each pack"
    print(
        f"{len(load.notice_ids)} notices, load retries {load.retries}, "
        f"webhook repeats under the same id: {sum(repeats.values())}"
    )


# --- case 3: SQLite locked by another process -----------------------------------------------------------------


@contextmanager
def write_locked(system: RunningSystem, service: str) -> Iterator[None]:
    """Another process holds the write lock of ``service``'s SQLite file (as a backup or a ``sqlite3`` shell
    would) until the block ends; the services' readers go on (WAL), their writers wait, then fail as busy."""
    path = make_url(system.stack.database_url(service)).database
    assert path
    # It waits its turn for the lock (the service may be writing at that moment), then holds it.
    locker = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")
        yield
    finally:
        locker.rollback()
        locker.close()


def stored_handovers(system: RunningSystem, notice_id: str) -> int:
    """Handovers of ``notice_id`` in handover's SQLite file, read by another connection (WAL: never blocked)."""
    path = make_url(system.stack.database_url("handover")).database
    assert path
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        (count,) = reader.execute("SELECT count(*) FROM handover WHERE notice_id = ?", (notice_id,)).fetchone()
        return int(count)
    finally:
        reader.close()


@pytest.mark.hazard("H85")
@pytest.mark.parametrize("shared", ["sqlite"], indirect=True)  # SQLite's lock; the shared SQLite system
def test_a_sqlite_file_locked_past_the_busy_timeout_answers_503_then_loses_nothing(shared: Faults) -> None:
    system = shared.system
    first, second = notice_in("locked"), notice_in("locked")
    key = str(uuid.uuid4())
    with write_locked(system, "handover"):
        first_id = accepted(system, first)  # published, but handover cannot store what it makes of it
        with write_locked(system, "release_events"):
            refused = submit(system, second, key, timeout=60.0)  # waits out the 10 s busy timeout
        # Read from the file itself: inside handover a read waits behind the write stuck on the lock.
        assert stored_handovers(system, first_id) == 0, "handover could not store the pack while locked"
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["type"].endswith("/database-unavailable")

    again = submit(system, second, key)  # the prison sends the same request again
    assert again.status_code == 202, again.text
    notice_ids = [first_id, again.json()["notice_id"]]
    handover_ids = [handover_id_of(system, notice_id) for notice_id in notice_ids]
    wait_delivered(system, handover_ids, codes("locked"))
    consumers_caught_up(system)
    assert_one_pack_each(system, notice_ids)
    assert_one_webhook_id_per_message(system, codes("locked"))
