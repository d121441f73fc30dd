"""Who may change whose prisoner: the establishment that holds a person owns that person's notices and custody
events. The attacks of issue 9, a legitimate transfer, corrections of a notice, duplicates without a key, and
the status URL that follows a notice to the agencies. On the real services, broker and both databases.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from services.common.db import sync_url
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem
from ttg.cli import app as cli_app
from ttg.synthetic import custody_event, release_notice

pytestmark = pytest.mark.acceptance

PROBLEM_JSON = "application/problem+json"


def post(system: RunningSystem, client: str, path: str, body: dict[str, Any]) -> httpx.Response:
    with system.client("release_events", client) as http:
        return http.post(path, json=body)


def get(system: RunningSystem, service: str, client: str, path: str) -> httpx.Response:
    with system.client(service, client) as http:
        return http.get(path)


def stored(system: RunningSystem, prison_number: str) -> dict[str, int]:
    """What release_events holds about the person: notices, custody events, outbox rows (what it publishes)."""
    engine = sa.create_engine(sync_url(system.stack.database_url("release_events")), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE {column} = :pn"), {"pn": prison_number}
                ).scalar_one()
                for table, column in (
                    ("release_notice", "prison_number"),
                    ("custody_event", "prison_number"),
                    ("outbox", "key"),
                )
            }
    finally:
        engine.dispose()


def delivered_status(system: RunningSystem, client: str, status_url: str) -> dict[str, Any]:
    """The notice's status once its pack is issued and every agency's delivery is delivered."""

    def done() -> dict[str, Any] | None:
        status = get(system, "release_events", client, status_url).json()
        states = {item["state"] for item in status["deliveries"]}
        return status if status["status"] == "pack_issued" and states == {"delivered"} else None

    return eventually(done, what="the pack to be issued and delivered to every agency")


def open_case(system: RunningSystem, client: str, place: str) -> tuple[dict[str, Any], dict[str, Any]]:
    notice = release_notice(seeded_rng(), place=place)
    response = post(system, client, "/v1/release-notices", notice)
    assert response.status_code == 202, response.text
    return notice, delivered_status(system, client, response.json()["status_url"])


def webhook_ids(system: RunningSystem, handover_id: str) -> set[str]:
    """The messages the agencies received about a handover (a retry of one message is the same message)."""
    return {item.headers["webhook-id"] for item in system.receiver.for_handover(handover_id)}


def refused(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    if field:
        assert [error["field"] for error in problem["errors"]] == [field], problem
    return problem  # type: ignore[no-any-return]


def held_elsewhere(response: httpx.Response, field: str) -> None:
    problem = refused(response, 409, field)
    assert problem["type"].endswith("/held-elsewhere")
    assert "held by another establishment" in problem["detail"]
    assert "HHI" not in problem["detail"] and "DMI" not in problem["detail"]  # where they are is not told


def refusals_audited(system: RunningSystem, prison_number: str) -> list[dict[str, Any]]:
    with system.client("release_events", "operator") as http:
        records = http.get("/v1/audit", params={"subject": prison_number, "limit": 1000}).json()
    return [record for record in records if record["outcome"] == "refused"]


@pytest.fixture(scope="module")
def hhi_case(system: RunningSystem) -> tuple[dict[str, Any], dict[str, Any]]:
    """A person held at Holme House (HHI), with a release notice whose pack reached the Teesside agencies."""
    return open_case(system, "prison-hhi", "teesside")


@pytest.mark.hazard("H32")
def test_a_dmi_key_cannot_take_an_hhi_prisoner_by_reporting_a_transfer(
    system: RunningSystem, hhi_case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    notice, status = hhi_case
    person = notice["prison_number"]
    before = stored(system, person)
    received = webhook_ids(system, status["handover_id"])

    pull = custody_event(person, "transfer", sequence=1, establishment_code="DMI", from_establishment_code="HHI")
    refused(post(system, "prison-dmi", "/v1/custody-events", pull), 403, "from_establishment_code")
    claim = custody_event(person, "transfer", sequence=1, establishment_code="DMI", from_establishment_code="DMI")
    held_elsewhere(post(system, "prison-dmi", "/v1/custody-events", claim), "from_establishment_code")
    reception = custody_event(person, "reception", sequence=1, establishment_code="DMI", reason="transfer_in")
    held_elsewhere(post(system, "prison-dmi", "/v1/custody-events", reception), "establishment_code")
    # a key bound to both establishments may not move the person by naming the receiver as sender either
    held_elsewhere(post(system, "prison-all", "/v1/custody-events", claim), "from_establishment_code")

    assert stored(system, person) == before  # nothing stored, nothing to publish
    assert webhook_ids(system, status["handover_id"]) == received
    assert get(system, "handover", "prison-hhi", f"/v1/handovers/{status['handover_id']}").status_code == 200
    assert get(system, "handover", "prison-dmi", f"/v1/handovers/{status['handover_id']}").status_code == 404
    audited = refusals_audited(system, person)
    assert {r["action"] for r in audited} == {"custody_event.refused"} and len(audited) == 3
    assert {r["actor"] for r in audited} == {"prison-dmi", "prison-all"}


@pytest.mark.hazard("H32")
def test_a_dmi_key_cannot_cancel_an_hhi_prisoners_release(
    system: RunningSystem, hhi_case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    notice, status = hhi_case
    person = notice["prison_number"]
    before = stored(system, person)
    cancel_here = custody_event(person, "release_cancelled", sequence=2, establishment_code="DMI", detail="x")
    held_elsewhere(post(system, "prison-dmi", "/v1/custody-events", cancel_here), "establishment_code")
    cancel_there = custody_event(person, "release_cancelled", sequence=2, establishment_code="HHI", detail="x")
    refused(post(system, "prison-dmi", "/v1/custody-events", cancel_there), 403, "establishment_code")
    released = custody_event(person, "released", sequence=2, establishment_code="DMI", reason="released")
    held_elsewhere(post(system, "prison-dmi", "/v1/custody-events", released), "establishment_code")

    assert stored(system, person) == before
    case = get(system, "handover", "prison-hhi", f"/v1/handovers/{status['handover_id']}").json()
    assert case["state"] == "open"
    assert not [
        item
        for item in system.receiver.for_handover(status["handover_id"])
        if item.json["type"] == "handover.pack.withdrawn"
    ]


@pytest.mark.hazard("H31")
def test_a_dmi_notice_reusing_an_hhi_prisoners_number_is_refused(
    system: RunningSystem, hhi_case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    notice, status = hhi_case
    person = notice["prison_number"]
    before = stored(system, person)
    impostor = {**release_notice(seeded_rng(), place="durham"), "prison_number": person}
    held_elsewhere(post(system, "prison-dmi", "/v1/release-notices", impostor), "establishment_code")
    held_elsewhere(post(system, "prison-all", "/v1/release-notices", impostor), "establishment_code")
    assert stored(system, person) == before
    case = get(system, "handover", "prison-hhi", f"/v1/handovers/{status['handover_id']}").json()
    assert case["state"] == "open" and case["version"] == 1
    assert {r["action"] for r in refusals_audited(system, person)} >= {"notice.refused"}


@pytest.mark.hazard("H32", "H33")
def test_after_a_transfer_by_the_sender_the_receiver_acts_and_the_sender_may_not(system: RunningSystem) -> None:
    notice, status = open_case(system, "prison-hhi", "teesside")
    person = notice["prison_number"]
    transfer = custody_event(person, "transfer", sequence=10, establishment_code="DMI", from_establishment_code="HHI")
    refused(post(system, "prison-dmi", "/v1/custody-events", transfer), 403, "from_establishment_code")
    reported = post(system, "prison-hhi", "/v1/custody-events", transfer)
    assert reported.status_code == 202
    for reader in ("prison-hhi", "prison-dmi"):  # the sender and the receiver follow the transfer
        assert get(system, "release_events", reader, reported.json()["status_url"]).status_code == 200
    assert get(system, "release_events", "prison-bmi", reported.json()["status_url"]).status_code == 404
    later_day = (date.fromisoformat(notice["release"]["date"]) + timedelta(days=2)).isoformat()
    by_sender = custody_event(
        person, "release_date_changed", sequence=11, establishment_code="HHI", release_date=later_day
    )
    held_elsewhere(post(system, "prison-hhi", "/v1/custody-events", by_sender), "establishment_code")
    held_elsewhere(post(system, "prison-hhi", "/v1/release-notices", notice), "establishment_code")
    # a late event (older sequence) from the sender does not give the person back
    late = custody_event(person, "transfer", sequence=9, establishment_code="HHI", from_establishment_code="DMI")
    assert post(system, "prison-dmi", "/v1/custody-events", late).status_code == 202
    by_receiver = {**by_sender, "establishment_code": "DMI"}
    response = post(system, "prison-dmi", "/v1/custody-events", by_receiver)
    assert response.status_code == 202, response.text
    assert stored(system, person)["custody_event"] == 3


@pytest.mark.hazard("H34")
def test_a_correction_is_published_once_and_refused_to_others(system: RunningSystem) -> None:
    notice, status = open_case(system, "prison-dmi", "durham")
    path = f"/v1/release-notices/{status['notice_id']}/amendments"
    corrected = {**notice, "prison_contact": {**notice["prison_contact"], "name": "A. New Contact"}}
    body = {"notice": corrected, "reason": "New healthcare contact"}
    first = post(system, "prison-dmi", path, body)
    assert first.status_code == 202, first.text
    assert first.json()["revision"] == 2 and first.json()["notice_id"] == status["notice_id"]
    again = post(system, "prison-dmi", path, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["amendment_id"] == first.json()["amendment_id"]

    refused(post(system, "prison-bmi", path, body), 404)  # another establishment's notice: as if none
    refused(post(system, "prison-hhi", path, body), 404)
    other = {**corrected, "prison_number": "Z9999ZZ"}
    refused(post(system, "prison-dmi", path, {"notice": other}), 422, "notice.prison_number")
    moved = {**corrected, "establishment_code": "BMI"}
    refused(post(system, "prison-all", path, {"notice": moved}), 422, "notice.establishment_code")
    refused(post(system, "prison-dmi", path, {**body, "urgent": True}), 422, "urgent")
    refused(post(system, "prison-dmi", "/v1/release-notices/no-such-notice/amendments", body), 404)

    status_url = f"/v1/release-notices/{status['notice_id']}"
    published = eventually(
        lambda: (
            (s := get(system, "release_events", "prison-dmi", status_url).json())["amendments"]
            and s["amendments"][0]["published_at"]
            and s
        ),
        what="the correction to be published",
    )
    assert published["revision"] == 2 and len(published["amendments"]) == 1
    assert stored(system, notice["prison_number"])["outbox"] == 2  # the notice and one correction

    # once the person is released, a correction is refused: it would be a new notice
    released = custody_event(notice["prison_number"], "released", sequence=1, reason="released")
    assert post(system, "prison-dmi", "/v1/custody-events", released).status_code == 202
    late = {"notice": {**corrected, "prison_contact": {**corrected["prison_contact"], "name": "B. Later"}}}
    problem = refused(post(system, "prison-dmi", path, late), 409)
    assert problem["type"].endswith("/not-in-custody")


@pytest.mark.hazard("H35")
def test_the_same_notice_again_without_a_key_notifies_no_one_again(system: RunningSystem) -> None:
    notice, status = open_case(system, "prison-dmi", "durham")
    received = webhook_ids(system, status["handover_id"])
    again = post(system, "prison-dmi", "/v1/release-notices", notice)
    assert again.status_code == 200, (again.status_code, again.text)
    assert again.json() == {
        "notice_id": status["notice_id"],
        "status": "duplicate",
        "status_url": f"/v1/release-notices/{status['notice_id']}",
    }
    assert stored(system, notice["prison_number"]) == {"release_notice": 1, "custody_event": 0, "outbox": 1}
    assert webhook_ids(system, status["handover_id"]) == received
    other_type = "parole" if notice["release"]["type"] != "parole" else "end_of_sentence"
    changed = {**notice, "release": {**notice["release"], "type": other_type}}
    assert post(system, "prison-dmi", "/v1/release-notices", changed).status_code == 202  # a real change


@pytest.mark.hazard("H36")
def test_the_status_url_follows_the_notice_to_every_agency(
    system: RunningSystem, hhi_case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    notice, status = hhi_case
    assert status["status"] == "pack_issued" and status["version"] == 1 and status["published_at"]
    received = {item.agency_code for item in system.receiver.for_handover(status["handover_id"])}
    assert {item["agency_code"] for item in status["deliveries"]} == received and received
    assert all(item["message"] == "handover.pack.issued" for item in status["deliveries"])
    assert get(system, "release_events", "prison-dmi", f"/v1/release-notices/{status['notice_id']}").status_code == 404


def test_the_delivery_cli_takes_an_api_key_and_says_which_one_was_refused(system: RunningSystem) -> None:
    runner = CliRunner()
    url = system.stack.url("notifier")
    operator = system.api_keys["operator"]
    listed = runner.invoke(cli_app, ["endpoints", "list", "--notifier-url", url, "--api-key", operator], env={})
    assert listed.exit_code == 0, listed.output
    assert "CMHT-DUR" in listed.output
    prison = system.api_keys["prison-dmi"]
    refused_key = runner.invoke(cli_app, ["dead-letters", "list", "--notifier-url", url, "--api-key", prison])
    assert refused_key.exit_code == 1
    key_id = prison.split("_")[1]
    assert f"used ttg_{key_id}_... from --api-key" in refused_key.output
    assert prison.split("_", 2)[2] not in refused_key.output  # never the secret


@pytest.mark.hazard("H31")
def test_two_prisons_claiming_one_new_person_at_once_do_not_both_get_through(system: RunningSystem) -> None:
    person = release_notice(seeded_rng(), place="durham")["prison_number"]
    bodies = [
        (client, {**release_notice(seeded_rng(), place=place), "prison_number": person})
        for client, place in (("prison-dmi", "durham"), ("prison-hhi", "teesside")) * 3
    ]
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        answers = list(pool.map(lambda item: post(system, item[0], "/v1/release-notices", item[1]), bodies))
    winners = {client for (client, _), answer in zip(bodies, answers, strict=True) if answer.status_code == 202}
    assert len(winners) == 1, [answer.status_code for answer in answers]
    losers = [answer for (client, _), answer in zip(bodies, answers, strict=True) if client not in winners]
    assert {answer.status_code for answer in losers} == {409}
    assert stored(system, person)["release_notice"] == 3  # the winner's three notices, no one else's
