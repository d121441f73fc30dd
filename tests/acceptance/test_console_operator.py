"""The console in a real browser for operators: the desk's endpoints, dead letters and directory, and a service
that is down. Headless Chromium (Debian's) driven by Playwright, the whole system underneath on real parts; every
page is checked with axe-core (WCAG 2.2 A and AA) and at 320 px wide (``tests/support/console_pages.py``)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from services.notifier.adapters.offset_clock import write_offset
from tests.support.console_pages import Console, check_page, follow, handover_of_new_notice, new_context, sign_in
from tests.support.polling import eventually
from tests.support.receiver import Behaviour
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance


def test_an_operator_pauses_and_resumes_an_endpoint_from_the_desk(console: Console, browser: Browser) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "operator")
    expect(page.get_by_role("heading", level=1)).to_have_text("Deliveries and endpoints")
    check_page(page, console, "operator-desk")
    card = page.locator("[data-agency-code='SMS-BHM']")
    expect(card).to_be_hidden()  # working normally: folded away below the endpoints that need attention
    page.locator(".ttg-working summary").click()
    card.get_by_role("button", name="Pause SMS-BHM").click()
    expect(page.get_by_text("Done: paused")).to_be_visible()
    with console.system.client("notifier", "operator") as http:
        states = {e["agency_code"]: e["status"] for e in http.get("/v1/endpoints").json()}
    assert states["SMS-BHM"] == "paused"
    expect(page.locator(".ttg-attention [data-agency-code='SMS-BHM']")).to_be_visible()  # paused: first
    page.locator("[data-agency-code='SMS-BHM']").get_by_role("button", name="Resume SMS-BHM").click()
    expect(page.get_by_text("Done: resumed")).to_be_visible()
    with console.system.client("notifier", "operator") as http:
        assert {e["agency_code"]: e["status"] for e in http.get("/v1/endpoints").json()}["SMS-BHM"] == "active"
        actors = {record["actor"] for record in http.get("/v1/delivery-audit").json()}
    assert "operator@console" in actors

    # People's accounts: the throttled account shows as locked; disabling one signs it out of the console.
    follow(page, page.get_by_role("link", name="People's accounts").first)
    check_page(page, console, "operator-people")
    person = page.locator("[data-user-id='hc.idle']")
    person.get_by_role("button", name="Disable hc.idle").click()
    expect(page.get_by_text("Done: hc.idle disabled")).to_be_visible()
    expect(page.locator("[data-user-id='hc.idle']")).to_contain_text("Disabled")
    page.locator("[data-user-id='hc.idle']").get_by_role("button", name="Enable hc.idle").click()
    expect(page.locator("[data-user-id='hc.idle']")).to_contain_text("Active")
    context.close()


def delivery_to(console: Console, agency: str, handover_id: str) -> dict[str, Any] | None:
    with console.system.client("notifier", "operator") as http:
        found = http.get("/v1/deliveries", params={"handover_id": handover_id}).json()
    return next((item for item in found if item["agency_code"] == agency), None)


def test_an_operator_replays_a_dead_lettered_delivery_and_sees_it_delivered(console: Console, browser: Browser) -> None:
    console.system.receiver.behave("SMS-BHM", Behaviour(statuses=[500, 500, 204]))
    notice = release_notice(place="birmingham", substance_misuse=True)
    handover_id = handover_of_new_notice(console, "prison-bmi", notice)
    first = eventually(
        lambda: (d := delivery_to(console, "SMS-BHM", handover_id)) and d["attempt_count"] >= 1 and d,
        what="the first failed attempt",
    )
    write_offset(console.notifier_clock, 120)  # past the last round of the schedule
    eventually(
        lambda: (d := delivery_to(console, "SMS-BHM", handover_id)) and d["status"] == "dead_lettered",
        what="the delivery to be dead-lettered",
    )

    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "operator.replay")
    card = page.locator(f"[data-webhook-id='{first['webhook_id']}']")
    expect(card).to_contain_text("SMS-BHM")
    check_page(page, console, "operator-desk-dead-letter")
    card.get_by_role("button", name="Replay delivery").click()
    expect(page.get_by_text("Done: replayed")).to_be_visible()
    delivered = eventually(
        lambda: (d := delivery_to(console, "SMS-BHM", handover_id)) and d["status"] == "delivered" and d,
        what="the replayed delivery to arrive",
    )
    assert delivered["replays"] == 1
    page.reload()
    expect(page.locator(f"[data-webhook-id='{first['webhook_id']}']")).to_have_count(0)
    with console.system.client("notifier", "operator") as http:
        audit = http.get("/v1/delivery-audit", params={"webhook_id": first["webhook_id"]}).json()
    assert any(r["action"] == "delivery_replayed" and r["actor"] == "operator.replay@console" for r in audit), audit
    context.close()


@pytest.mark.hazard("H76")
def test_an_operator_replays_all_of_an_agencys_failed_deliveries_and_watches_them_arrive(
    console: Console, browser: Browser
) -> None:
    """Two deliveries to one agency dead-letter; the operator re-sends all of that agency's failed deliveries and
    the page counts them in as they arrive (refreshing itself; a Refresh link works without the script)."""
    console.system.receiver.behave("A99002", Behaviour(statuses=[500]))
    handover_ids = [handover_of_new_notice(console, "prison-hhi", release_notice(place="teesside")) for _ in range(2)]
    for handover_id in handover_ids:
        eventually(
            lambda h=handover_id: (d := delivery_to(console, "A99002", h)) and d["attempt_count"] >= 1,
            what="the first failed attempt",
        )
    now = float(console.notifier_clock.read_text() or 0) if console.notifier_clock.exists() else 0.0
    write_offset(console.notifier_clock, now + 120)  # past the last round of the schedule
    dead = [
        eventually(
            lambda h=handover_id: (d := delivery_to(console, "A99002", h)) and d["status"] == "dead_lettered" and d,
            what="the delivery to be dead-lettered",
        )
        for handover_id in handover_ids
    ]
    # The endpoint works again, but refuses the first one re-sent for good (a 4xx): the page must not hide it.
    console.system.receiver.behave("A99002", Behaviour(statuses=[400, 204]))

    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "operator.replay.all")
    page.get_by_role("button", name="Re-send failed deliveries").click()  # no agency chosen: refused, named
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select the agency")
    page.get_by_label("Agency").select_option("A99002")
    page.get_by_role("button", name="Re-send failed deliveries").click()
    expect(page.get_by_role("heading", name="Re-sending deliveries to A99002")).to_be_visible()
    for delivery in dead:
        expect(page.locator(f"[data-webhook-id='{delivery['webhook_id']}']")).to_have_count(1)
    # No reload: the page's script brings the progress in as the notifier sends.
    expect(page.locator("#replay-count")).to_have_text("1 of 2 re-sent deliveries delivered", timeout=30_000)
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("did not arrive", timeout=30_000)
    refused = page.locator("[data-status='failed']")
    expect(refused).to_have_count(1)
    check_page(page, console, "operator-desk-replay-progress-failed")

    page.get_by_role("link", name="Deliveries and endpoints").first.click()  # once more, for the one refused
    page.get_by_label("Agency").select_option("A99002")
    page.get_by_role("button", name="Re-send failed deliveries").click()
    expect(page.locator("#replay-count")).to_have_text("1 of 1 re-sent deliveries delivered", timeout=30_000)
    expect(page.locator(".nhsuk-error-summary")).to_have_count(0)
    check_page(page, console, "operator-desk-replay-progress")
    page.get_by_role("link", name="Refresh").click()  # the same progress without the script
    expect(page.locator("#replay-count")).to_have_text("1 of 1 re-sent deliveries delivered")
    replays = sorted(
        delivery_to(console, "A99002", handover_id)["replays"]  # type: ignore[index]
        for handover_id in handover_ids
    )
    assert replays == [1, 2], replays
    assert all(delivery_to(console, "A99002", h)["status"] == "delivered" for h in handover_ids)  # type: ignore[index]
    page.goto(console.url + "/desk")  # nothing left to re-send: said so, nothing re-sent
    page.get_by_label("Agency").select_option("A99002")
    page.get_by_role("button", name="Re-send failed deliveries").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("A99002 has no failed deliveries to re-send")
    context.close()


def operator_get(console: Console, service: str, path: str) -> Any:
    with console.system.client(service, "operator") as http:
        return http.get(path).raise_for_status().json()


@pytest.mark.hazard("H75")
def test_an_operator_adds_an_agency_rotates_its_secret_and_reads_the_escalations(
    console: Console, browser: Browser
) -> None:
    # "A new substance-misuse service joins. I add it with its endpoint; an unsafe address is refused and I'm told
    # why; I fix it, later change its area and rotate its secret, which I never see again."
    receiver_url = next(
        a["webhook"]["url"] for a in operator_get(console, "handover", "/v1/directory/agencies") if a.get("webhook")
    )
    secret, rotated = ("whsec_" + uuid.uuid4().hex + uuid.uuid4().hex[:8] for _ in range(2))
    code = f"SMS-T{uuid.uuid4().hex[:4].upper()}"
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "operator.directory")
    page.get_by_role("link", name="Directory of services").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory of services")
    check_page(page, console, "directory")
    follow(page, page.get_by_role("link", name="Add an agency"))
    check_page(page, console, "agency-form")
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_label("Name", exact=True).fill("Test Recovery Service")
    page.get_by_label("Kind of agency").select_option("substance_misuse_service")
    page.get_by_label("Postcode districts covered").fill("ZZ9")
    page.get_by_label("Endpoint web address (optional)").fill("ftp://example.org/hook")
    page.get_by_label("Signing secret").fill(secret)
    page.get_by_role("button", name="Save agency").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("ftp")
    assert summary.get_by_role("link").first.get_attribute("href") == "#url"
    expect(page.get_by_label("Signing secret")).to_have_value("")  # a secret is never sent back to the page
    check_page(page, console, "agency-form-refused")
    with console.system.client("handover", "operator") as http:
        assert http.get(f"/v1/directory/agencies/{code}").status_code == 404

    page.get_by_label("Endpoint web address (optional)").fill(receiver_url)
    page.get_by_label("Signing secret").fill(secret)
    page.get_by_role("button", name="Save agency").click()
    expect(page.get_by_text(f"Done: {code} saved")).to_be_visible()
    card = page.locator(f".ttg-agency[data-agency-code='{code}']")
    expect(card).to_contain_text("ZZ9")
    page.get_by_label("Search by code, name or area").fill(code.lower())
    page.get_by_role("button", name="Show agencies").click()
    expect(page.locator(".ttg-agency")).to_have_count(1)
    expect(card).to_be_visible()
    stored = operator_get(console, "handover", f"/v1/directory/agencies/{code}")
    assert stored["webhook"]["url"] == receiver_url and secret not in json.dumps(stored)

    card.get_by_role("link", name="Change").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Test Recovery Service")
    page.get_by_label("Postcode districts covered").fill("ZZ9 ZZ8")
    page.get_by_role("button", name="Save agency").click()
    expect(page.get_by_text(f"Done: {code} saved")).to_be_visible()
    changed = operator_get(console, "handover", f"/v1/directory/agencies/{code}")
    assert changed["coverage"]["postcode_districts"] == ["ZZ9", "ZZ8"]
    assert changed["webhook"]["secret_ref"] == stored["webhook"]["secret_ref"]  # the secret kept as it was

    follow(page, card.get_by_role("link", name="Rotate the secret"))
    check_page(page, console, "agency-secret")
    page.get_by_label("New signing secret").fill(rotated)
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_text(f"Done: {code} secret rotated")).to_be_visible()
    assert rotated not in page.content()
    after = operator_get(console, "handover", f"/v1/directory/agencies/{code}")
    assert after["webhook"]["secret_ref"] != stored["webhook"]["secret_ref"]
    assert [old["secret_ref"] for old in after["webhook"]["previous_secrets"]] == [stored["webhook"]["secret_ref"]]

    known = [item["id"] for item in operator_get(console, "notifier", "/v1/escalations")]
    page.get_by_role("link", name="Escalations").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalations")
    shown = page.locator(".ttg-escalation").evaluate_all("nodes => nodes.map(n => n.dataset.escalationId)")
    assert set(known) <= set(shown)
    check_page(page, console, "escalations")

    forged = page.request.post(f"{console.url}/desk/directory/{code}/secret", form={"secret": rotated})
    assert forged.status == 403
    prison = new_context(browser)
    stranger = prison.new_page()
    sign_in(stranger, console, "hc.not.operator")
    for path in ("/desk/directory", f"/desk/directory/{code}", "/desk/escalations"):
        answer = stranger.goto(console.url + path)
        assert answer is not None and answer.status == 404, path
    prison.close()
    context.close()


def test_a_service_that_is_down_gives_a_clear_page_and_the_same_page_works_once_it_is_back(
    console: Console, browser: Browser
) -> None:
    # "Handover is restarting while I look something up: I'm told there is a problem and that nothing changed, not
    # shown a bare 'Internal Server Error'; when it is back, the same page works."
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "operator.outage")
    stack = console.system.stack
    stack.stop_service("handover", kill=True)
    try:
        answer = page.goto(console.url + "/desk/directory")
        assert answer is not None and answer.status == 503
        expect(page.get_by_role("heading", level=1)).to_have_text("Sorry, there is a problem with the service")
        expect(page.get_by_text("Nothing was changed. Try again later.")).to_be_visible()
        check_page(page, console, "service-unavailable")
    finally:
        stack.start_service("handover")
        stack.wait_healthy("handover")
    answer = page.goto(console.url + "/desk/directory")
    assert answer is not None and answer.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory of services")
    context.close()
