"""Issue 9 acceptance, item 12: nothing accepted is lost when the broker loses its data.

The embedded broker keeps its topics in memory only. Notices accepted and published while handover is away are
still on the broker only; when the broker starts again empty (the whole system restarted, or the broker alone
under running services), the relays publish their retained outbox rows again and every notice gets its pack,
every agency its webhook, once per webhook-id. Runs on SQLite and on PostgreSQL, with real receivers
verifying each webhook with ``standardwebhooks``.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from services.common.topics import CUSTODY_EVENTS, HANDOVER_EVENTS
from tests.conftest import BACKENDS, require_backend
from tests.support.kafka import group_has_read_everything
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, restart_system, start_system, stop_system
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

DURHAM_RECIPIENTS = {"A99001", "CMHT-DUR", "PDU-DUR"}
SLOW = 120.0  # a fresh consumer group joins the new broker, and the relays publish again, before packs flow


@pytest.fixture(params=BACKENDS)
def fresh_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[RunningSystem]]:
    """A system of the test's own (it is restarted); a one-item list so that the test can swap it."""
    backend: str = request.param
    require_backend(backend)
    tmp: Path = tmp_path_factory.mktemp(f"broker-loss-{backend}")
    holder = [start_system(tmp, backend)]
    try:
        yield holder
    finally:
        stop_system(holder[0])


def submit(system: RunningSystem, notice: dict[str, Any]) -> dict[str, Any]:
    with system.client("release_events") as client:
        response = client.post("/v1/release-notices", json=notice)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def status_of(system: RunningSystem, status_url: str) -> str:
    with system.client("release_events") as client:
        return str(client.get(status_url).json()["status"])


def handover_of(system: RunningSystem, notice_id: str, timeout: float = SLOW) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        with system.client("handover") as client:
            answer = client.get("/v1/handovers", params={"notice_id": notice_id})
        answer.raise_for_status()
        return answer.json()[0] if answer.json() else None

    return eventually(found, timeout=timeout, what="the handover of the notice")


def delivered_to(system: RunningSystem, handover_id: str, timeout: float = SLOW) -> None:
    def done() -> bool:
        with system.client("notifier") as client:
            deliveries = client.get("/v1/deliveries", params={"handover_id": handover_id}).json()
        return {d["agency_code"] for d in deliveries if d["status"] == "delivered"} == DURHAM_RECIPIENTS

    eventually(done, timeout=timeout, what=f"deliveries of {handover_id} to every recipient")


def consumers_caught_up(system: RunningSystem) -> None:
    """Wait until handover has read all of the custody topic and the notifier all of the handover topic (what
    the relays published again included), so that a second delivery would already have shown."""
    for group, topic in (("handover", CUSTODY_EVENTS), ("notifier", HANDOVER_EVENTS)):
        eventually(
            lambda group=group, topic=topic: asyncio.run(
                group_has_read_everything(system.bootstrap_servers, group, topic)
            ),
            timeout=SLOW,
            interval=0.5,
            what=f"{group} to read all of {topic}",
        )


def republished(system: RunningSystem, service: str) -> list[dict[str, Any]]:
    with system.client(service, "operator") as client:
        answer = client.get("/v1/audit", params={"limit": 1000})
    answer.raise_for_status()
    return [record for record in answer.json() if record["action"] == "outbox.republished"]


def the_broker_replacement(system: RunningSystem, service: str) -> dict[str, Any]:
    """The one republication of ``service``'s outbox, for the replaced broker. CI once saw two (2026-12-05, under
    load; not seen again in nine runs here): a failure now names every record, and so what the other one was."""
    records = republished(system, service)
    assert len(records) == 1 and records[0]["details"]["reason"] == "broker_replaced", records
    return records[0]


def assert_each_webhook_once(system: RunningSystem, handover_ids: list[str]) -> None:
    """Every webhook verifies, arrives once per webhook-id, and each agency has one webhook-id per handover."""
    received = system.receiver.matching(lambda item: True)
    per_webhook_id = Counter(item.headers["webhook-id"] for item in received)
    assert max(per_webhook_id.values()) == 1, "a webhook-id was delivered twice"
    for handover_id in handover_ids:
        webhooks = system.receiver.for_handover(handover_id)
        assert sorted(item.agency_code for item in webhooks) == sorted(DURHAM_RECIPIENTS), handover_id
        for item in webhooks:
            verified = Webhook(system.secrets[item.agency_code]).verify(item.body, item.headers)
            assert verified["type"] == "handover.pack.issued"


def accept_while_handover_is_away(system: RunningSystem, count: int) -> list[dict[str, Any]]:
    system.stack.stop_service("handover")
    seed = random.randrange(2**32)
    print(f"synthetic notices seed: {seed}")
    rng = random.Random(seed)
    accepted = [submit(system, release_notice(rng, place="durham")) for _ in range(count)]
    for notice in accepted:
        eventually(
            lambda notice=notice: status_of(system, notice["status_url"]) == "published",
            what="the notice to be published",
        )
    return accepted


@pytest.mark.hazard("H57", "H59", "H60")
def test_notices_published_before_the_whole_system_restarts_with_a_new_broker_all_get_their_packs_once(
    fresh_system: list[RunningSystem],
) -> None:
    system = fresh_system[0]
    before = submit(system, release_notice(seeded_rng(), place="durham"))
    handed_over_before = handover_of(system, before["notice_id"])["handover_id"]
    delivered_to(system, handed_over_before)
    old_cluster = system.stack.broker.cluster_id

    accepted = accept_while_handover_is_away(system, 5)
    system = fresh_system[0] = restart_system(system)  # every process stops; a new, empty broker
    assert system.stack.broker.cluster_id != old_cluster

    handover_ids = [handover_of(system, notice["notice_id"])["handover_id"] for notice in accepted]
    for handover_id in handover_ids:
        delivered_to(system, handover_id)
    consumers_caught_up(system)
    assert_each_webhook_once(system, [handed_over_before, *handover_ids])

    notices = the_broker_replacement(system, "release_events")
    assert notices["details"]["rows"] == 6  # the notice handed over before, and the five accepted after
    assert notices["details"]["cluster_id"] == system.stack.broker.cluster_id
    packs = the_broker_replacement(system, "handover")
    assert packs["details"]["rows"] >= 1
    for notice in accepted:  # the status URL follows each notice past the lost broker to its pack
        eventually(
            lambda notice=notice: status_of(system, notice["status_url"]) == "pack_issued",
            timeout=SLOW,
            what="the notice's status to show its pack",
        )


@pytest.mark.hazard("H57", "H59")
def test_a_broker_restarted_under_running_services_is_refilled_and_nothing_is_delivered_twice(
    fresh_system: list[RunningSystem],
) -> None:
    system = fresh_system[0]
    accepted = accept_while_handover_is_away(system, 3)

    system.stack.broker.restart()  # empty, new cluster id, same address; release_events and notifier keep running
    eventually(lambda: republished(system, "release_events"), timeout=SLOW, what="release_events to republish")
    system.stack.start_service("handover")
    system.stack.wait_healthy("handover")

    handover_ids = [handover_of(system, notice["notice_id"])["handover_id"] for notice in accepted]
    for handover_id in handover_ids:
        delivered_to(system, handover_id)
    consumers_caught_up(system)
    assert_each_webhook_once(system, handover_ids)
    notices = the_broker_replacement(system, "release_events")
    assert notices["details"] == {
        "reason": "broker_replaced",
        "rows": 3,
        "by_topic": {CUSTODY_EVENTS: 3},
        "previous_cluster_id": notices["details"]["previous_cluster_id"],
        "cluster_id": system.stack.broker.cluster_id,
    }
