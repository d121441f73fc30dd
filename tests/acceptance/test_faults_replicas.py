"""Issue 12, deliverable 4: two replicas of every service on PostgreSQL, sharing the embedded broker (one
consumer group per service) and the database. The load is shared (both replicas of handover issue packs, both
replicas of the notifier send webhooks), nothing is sent twice beyond retries under the same webhook-id, and
when one replica of each service is killed with SIGKILL the other takes over its partitions and its leased
deliveries, and everything is delivered.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import require_backend
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import DEFAULT_CLIENT, RunningSystem, start_system, stop_system
from ttg.stack import SERVICES, UNLIMITED_RATE_ENV
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

PLACES = {"durham": 3, "teesside": 3, "birmingham": 3}  # agencies told about a notice from each place
LEASE_SECONDS = 30  # a killed notifier's claims run out after this (production: 120 s; same mechanism)


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    require_backend("postgresql")
    tmp = tmp_path_factory.mktemp("replicas")
    running = start_system(
        tmp,
        "postgresql",
        # The test reads two dozen statuses every tenth of a second while it waits: a load, not a runaway client.
        extra_env={**UNLIMITED_RATE_ENV, "TTG_NOTIFIER_LEASE_SECONDS": str(LEASE_SECONDS)},
        replicas=dict.fromkeys(SERVICES, 2),
    )
    try:
        yield running
    finally:
        stop_system(running)


def submit(system: RunningSystem, rng: random.Random, count: int, via: list[str]) -> list[str]:
    """``count`` notices, each to the next of the ``via`` processes of release_events; their status URLs."""
    urls = []
    headers = {"Authorization": f"Bearer {system.api_keys[DEFAULT_CLIENT]}"}
    for n in range(count):
        notice = release_notice(rng, place=rng.choice(sorted(PLACES)))
        base = system.stack.url(via[n % len(via)])
        answer = httpx.post(
            f"{base}/v1/release-notices",
            json=notice,
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        urls.append(answer.json()["status_url"])
    return urls


def all_delivered(system: RunningSystem, status_urls: list[str]) -> list[dict[str, Any]] | None:
    """Each notice's status once its pack is issued and delivered to every agency, else None."""
    found = []
    with system.client("release_events") as client:
        for url in status_urls:
            answer = client.get(url)
            assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text}"
            status = answer.json()
            states = {item["state"] for item in status["deliveries"]}
            if status["status"] != "pack_issued" or states != {"delivered"}:
                return None
            found.append(status)
    return found


def logged(system: RunningSystem, process: str, event: str) -> list[dict[str, Any]]:
    lines = system.stack.log_path(process).read_text(errors="replace").splitlines()
    return [entry for line in lines if line.startswith("{") and (entry := json.loads(line)).get("event") == event]


def messages_sent_twice(system: RunningSystem) -> list[tuple[str, ...]]:
    """Verified arrivals grouped by what they say; a group with two webhook-ids is one message sent twice."""
    ids: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for item in system.receiver.received:
        data = Webhook(system.secrets[item.agency_code]).verify(item.body, item.headers)["data"]
        key = (
            item.agency_code,
            item.json["type"],
            data["handover_id"],
            str(data["version"]),
            str(data.get("referral_id")),
        )
        ids[key].add(item.headers["webhook-id"])
    return [key for key, found in ids.items() if len(found) > 1]


@pytest.mark.hazard("H82")
def test_two_replicas_of_every_service_share_the_load_and_send_nothing_twice(replicated: RunningSystem) -> None:
    rng = seeded_rng()
    urls: list[str] = []

    def both_replicas_worked() -> bool:
        # Waves of notices until the consumer group has given the second replica partitions and it has used
        # them (it joins a moment after it answers /healthz).
        urls.extend(submit(replicated, rng, 6, ["release_events", "release_events-2"]))
        return all(logged(replicated, name, "handover.pack_issued") for name in ("handover", "handover-2")) and all(
            logged(replicated, name, "delivery.round_recorded") for name in ("notifier", "notifier-2")
        )

    eventually(both_replicas_worked, timeout=90, interval=2, what="both replicas of handover and notifier to work")
    statuses = eventually(lambda: all_delivered(replicated, urls), timeout=90, what="every pack delivered")
    assert len(statuses) == len(urls) >= 6
    issued = {
        e["handover_id"]
        for name in ("handover", "handover-2")
        for e in logged(replicated, name, "handover.pack_issued")
    }
    assert {status["handover_id"] for status in statuses} <= issued
    by_first = {e["handover_id"] for e in logged(replicated, "handover", "handover.pack_issued")}
    by_second = {e["handover_id"] for e in logged(replicated, "handover-2", "handover.pack_issued")}
    assert not by_first & by_second, "a pack was issued by both replicas"
    assert messages_sent_twice(replicated) == []


@pytest.mark.hazard("H82")
def test_a_killed_replica_is_taken_over_and_everything_is_delivered(replicated: RunningSystem) -> None:
    rng = seeded_rng()
    before = {e["handover_id"] for e in logged(replicated, "handover", "handover.pack_issued")}
    in_flight = submit(replicated, rng, 12, ["release_events", "release_events-2"])
    for name in ("release_events-2", "handover-2", "notifier-2"):
        replicated.stack.stop_service(name, kill=True)  # SIGKILL, while the notices are on their way
    after = submit(replicated, rng, 12, ["release_events"])
    # The survivors take over the dead replicas' partitions (after the consumer session timeout) and their
    # leased deliveries (after the lease): the deadline allows both, and the work itself.
    statuses = eventually(
        lambda: all_delivered(replicated, in_flight + after), timeout=LEASE_SECONDS + 90, what="every pack delivered"
    )
    assert len(statuses) == 24
    taken_over = {status["handover_id"] for status in statuses[12:]}
    issued_by_survivor = {e["handover_id"] for e in logged(replicated, "handover", "handover.pack_issued")} - before
    assert taken_over <= issued_by_survivor, "the surviving handover replica issued every pack after the kill"
    assert replicated.stack.processes["handover-2"].returncode == -9
    assert messages_sent_twice(replicated) == []
