"""One directory of services, managed through handover's admin API, followed by the notifier without a restart.

An operator adds agencies for a new area (North Tyneside, made up for the tests: districts NE30 to NE33) with
webhooks at the real test receiver and secrets the test chooses; the next release there is routed to them and
they receive webhooks that verify with those secrets (``standardwebhooks``). Rotation, refusal of anyone but an
operator, refusal of unsafe URLs and of secrets in clear on the topic are tried from both sides.

Each scenario uses its own postcode district and agency codes, so scenarios sharing one system do not meet.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from services.common.topics import DIRECTORY_EVENTS
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, new_secret
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

AREA = "North Tyneside"


def agency_body(system: RunningSystem, code: str, kind: str, district: str, **webhook: Any) -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "name": f"Test agency {code} (fictitious)",
        "contact_email": f"{code.lower()}@example.org",
        "coverage": {"postcode_districts": [district], "local_authorities": []},
        "webhook": {"url": system.receiver.url(code), **webhook},
    }


def put(system: RunningSystem, body: dict[str, Any], as_client: str | None = "operator") -> Any:
    with system.client("handover", as_client) as client:
        return client.put(f"/v1/directory/agencies/{body['code']}", json=body)


def rotate(system: RunningSystem, code: str, body: dict[str, Any], as_client: str | None = "operator") -> Any:
    with system.client("handover", as_client) as client:
        return client.post(f"/v1/directory/agencies/{code}/secret", json=body)


def directory_entry(system: RunningSystem, code: str) -> Any:
    with system.client("handover", "operator") as client:
        return client.get(f"/v1/directory/agencies/{code}")


def notifier_follows(system: RunningSystem, code: str, revision: int) -> None:
    """Wait until the notifier delivers to ``code`` with (at least) ``revision`` of its directory entry."""

    def revision_seen() -> bool:
        with system.client("notifier", "operator") as client:
            endpoints = client.get("/v1/endpoints").json()
        return any(item["agency_code"] == code and item["revision"] >= revision for item in endpoints)

    eventually(revision_seen, what=f"the notifier to follow {code} revision {revision}")


def submit(system: RunningSystem, district: str) -> dict[str, Any]:
    """A Durham prison's release to an address in ``district``; returns the handover (as the prison sees it)."""
    notice = release_notice(seeded_rng(), place="durham")
    notice["release"]["destination"]["address"]["postcode"] = f"{district} 1AA"
    with system.client("release_events") as client:
        response = client.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]
    with system.client("handover") as client:
        found = eventually(
            lambda: client.get("/v1/handovers", params={"notice_id": notice_id}).json(),
            what="the handover of the notice",
        )
        return client.get(f"/v1/handovers/{found[0]['handover_id']}").json()  # type: ignore[no-any-return]


def routed_to(handover: dict[str, Any]) -> set[str]:
    return {referral["agency_code"] for referral in handover["referrals"]}


def webhook_of(system: RunningSystem, handover_id: str, code: str) -> Any:
    return eventually(
        lambda: next((item for item in system.receiver.for_handover(handover_id) if item.agency_code == code), None),
        what=f"the webhook to {code}",
    )


def verify(secret: str, item: Any) -> dict[str, Any]:
    return Webhook(secret).verify(item.body, item.headers)  # type: ignore[no-any-return]


@pytest.mark.hazard("H49")
def test_an_agency_added_through_the_api_receives_verified_webhooks_for_the_next_release_in_its_area(
    system: RunningSystem,
) -> None:
    gp_secret, cmht_secret = new_secret(), new_secret()
    gp = put(system, agency_body(system, "A99030", "gp_practice", "NE30", secret=gp_secret))
    cmht = put(system, agency_body(system, "CMHT-NE30", "community_mental_health_team", "NE30", secret=cmht_secret))
    assert gp.status_code == 201, gp.text
    assert cmht.status_code == 201, cmht.text
    assert gp.json()["webhook"]["secret_ref"].startswith("file:"), "only a reference is kept"
    assert gp_secret not in gp.text and "secret" not in gp.json()["webhook"]

    handover = submit(system, "NE30")  # no restart of anything in between

    assert {"A99030", "CMHT-NE30"} <= routed_to(handover)
    for code, secret in (("A99030", gp_secret), ("CMHT-NE30", cmht_secret)):
        item = webhook_of(system, handover["handover_id"], code)
        assert verify(secret, item)["type"] == "handover.pack.issued"
        with pytest.raises(Exception, match="(?i)signature"):
            verify(new_secret(), item)


@pytest.mark.hazard("H49")
def test_a_deactivated_agency_is_routed_nothing_new_and_sent_nothing_new(system: RunningSystem) -> None:
    secret = new_secret()
    assert (
        put(system, agency_body(system, "CMHT-NE31", "community_mental_health_team", "NE31", secret=secret)).status_code
        == 201
    )
    first = submit(system, "NE31")
    assert "CMHT-NE31" in routed_to(first)
    assert verify(secret, webhook_of(system, first["handover_id"], "CMHT-NE31"))

    with system.client("handover", "operator") as client:
        assert client.delete("/v1/directory/agencies/CMHT-NE31").status_code == 204
    assert directory_entry(system, "CMHT-NE31").json()["active"] is False

    second = submit(system, "NE31")
    assert "CMHT-NE31" not in routed_to(second)
    eventually(lambda: system.receiver.for_handover(second["handover_id"]), what="the second release's webhooks")
    assert not [item for item in system.receiver.for_handover(second["handover_id"]) if item.agency_code == "CMHT-NE31"]


@pytest.mark.hazard("H50")
def test_a_rotated_secret_signs_next_to_the_old_one_during_the_overlap_and_alone_after_it(
    system: RunningSystem,
) -> None:
    old, new, newest = new_secret(), new_secret(), new_secret()
    created = put(system, agency_body(system, "A99032", "gp_practice", "NE32", secret=old))
    assert created.status_code == 201
    before = webhook_of(system, submit(system, "NE32")["handover_id"], "A99032")
    assert verify(old, before) and len(before.headers["webhook-signature"].split(" ")) == 1

    rotated = rotate(system, "A99032", {"secret": new, "overlap_seconds": 3600})
    assert rotated.status_code == 200, rotated.text
    webhook = rotated.json()["webhook"]
    assert [item["secret_ref"] for item in webhook["previous_secrets"]] == [created.json()["webhook"]["secret_ref"]]
    assert webhook["secret_ref"].startswith("file:")
    notifier_follows(system, "A99032", rotated.json()["revision"])
    during = webhook_of(system, submit(system, "NE32")["handover_id"], "A99032")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verify(new, during)["type"] == "handover.pack.issued", "the new secret verifies"
    assert verify(old, during)["type"] == "handover.pack.issued", "the old secret still verifies during the overlap"

    # No overlap: a leaked secret stops at once, and so does every older one.
    ended = rotate(system, "A99032", {"secret": newest, "overlap_seconds": 0})
    assert ended.status_code == 200 and ended.json()["webhook"]["previous_secrets"] == []
    notifier_follows(system, "A99032", ended.json()["revision"])
    after = webhook_of(system, submit(system, "NE32")["handover_id"], "A99032")
    assert verify(newest, after)["type"] == "handover.pack.issued"
    for stale in (old, new):
        with pytest.raises(Exception, match="(?i)signature"):
            verify(stale, after)


@pytest.mark.hazard("H51")
@pytest.mark.parametrize("caller", ["prison-dmi", "gp-A99001", "cmht-dur", "probation-dur", None])
def test_only_an_operator_changes_the_directory(system: RunningSystem, caller: str | None) -> None:
    """Another organisation trying to send A99001's webhooks to itself, rotate its secret or deactivate it."""
    before = directory_entry(system, "A99001").json()
    hijack = agency_body(system, "A99001", "gp_practice", "DH1", secret=new_secret())
    hijack["webhook"]["url"] = system.receiver.url("ATTACKER")
    expected = 401 if caller is None else 403
    assert put(system, hijack, as_client=caller).status_code == expected
    assert rotate(system, "A99001", {"secret": new_secret()}, as_client=caller).status_code == expected
    with system.client("handover", caller) as client:
        assert client.delete("/v1/directory/agencies/A99001").status_code == expected
        assert client.get("/v1/directory/agencies/A99001").status_code == expected
    assert directory_entry(system, "A99001").json() == before, "nothing changed"


@pytest.mark.hazard("H51")
@pytest.mark.parametrize(
    "url",
    [
        "https://user:password@receiver.example.org/hook",  # credentials in the URL
        "file:///etc/passwd",  # not http(s)
        "gopher://127.0.0.1:6379/_FLUSHALL",
    ],
)
def test_an_unsafe_webhook_url_is_refused_with_problem_details_and_nothing_stored(
    system: RunningSystem, url: str
) -> None:
    body = agency_body(system, "EVIL-NE33", "gp_practice", "NE33", secret=new_secret())
    body["webhook"]["url"] = url
    response = put(system, body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("unsafe-webhook-url") and problem["errors"][0]["field"] == "webhook.url"
    assert directory_entry(system, "EVIL-NE33").status_code == 404


@pytest.mark.hazard("H52")
def test_webhook_secrets_never_travel_or_show_in_clear(system: RunningSystem) -> None:
    secret = new_secret()
    literal = agency_body(system, "A99034", "gp_practice", "NE34", secret_ref=f"literal:{secret}")
    refused = put(system, literal)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "webhook.secret_ref"
    assert secret not in refused.text
    bad = put(system, agency_body(system, "A99034", "gp_practice", "NE34", secret="not-a-webhook-secret"))
    assert bad.status_code == 422 and "not-a-webhook-secret" not in bad.text

    created = put(system, agency_body(system, "A99034", "gp_practice", "NE34", secret=secret))
    assert created.status_code == 201
    rotated = rotate(system, "A99034", {"secret": (second := new_secret())})
    assert rotated.status_code == 200
    notifier_follows(system, "A99034", rotated.json()["revision"])

    with system.client("handover", "operator") as client:
        listing = client.get("/v1/directory/agencies").text
    records = read_topic(system.bootstrap_servers, DIRECTORY_EVENTS)
    mine = [json.loads(record.value) for record in records if record.key == b"A99034"]
    assert [event["data"]["revision"] for event in mine][-2:] == [1, 2]
    for text in [listing, *(record.value.decode() for record in records)]:
        assert secret.removeprefix("whsec_") not in text and second.removeprefix("whsec_") not in text
    refs = [
        ref
        for event in mine
        for ref in [
            event["data"]["webhook"]["secret_ref"],
            *(old["secret_ref"] for old in event["data"]["webhook"]["previous_secrets"]),
        ]
    ]
    assert refs and all(ref.startswith("file:") for ref in refs)
    # The seeded agencies' literal secrets (the test directory's YAML) were moved into the store as well.
    seeded = [json.loads(record.value) for record in records if record.key == b"A99001"]
    assert seeded and seeded[0]["data"]["webhook"]["secret_ref"].startswith("file:")
    assert system.secrets["A99001"].removeprefix("whsec_") not in json.dumps(seeded)
