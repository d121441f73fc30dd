"""The console in a real browser for prison healthcare, agencies, probation and the person leaving: headless
Chromium (Debian's) driven by Playwright, the whole system underneath on real parts. Every page is checked with
axe-core (WCAG 2.2 A and AA) and at 320 px wide (``tests/support/console_pages.py``). The operator's desk is in
``test_console_operator.py``."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from contracts.release_notice import ReleaseNoticeV1
from tests.support.console_pages import (
    Console,
    check_page,
    durham_person,
    fill_notice,
    follow,
    handover_of_new_notice,
    new_context,
    notice_audit,
    sign_in,
    wrong_check_digit,
)
from tests.support.polling import eventually

pytestmark = pytest.mark.acceptance


@pytest.mark.hazard("H61", "H62")
def test_prison_healthcare_sends_a_notice_and_sees_the_mental_health_team_accept_it(
    console: Console, browser: Browser
) -> None:
    notice = durham_person()
    prison = new_context(browser)
    lounge = prison.new_page()
    sign_in(lounge, console, "hc.dmi", check=True)
    expect(lounge.get_by_role("heading", level=1)).to_have_text("Departure lounge")
    check_page(lounge, console, "lounge")

    # A bad NHS number: the error summary names the field and links to it; nothing is sent or stored.
    follow(lounge, lounge.get_by_role("link", name="New release notice").first)
    check_page(lounge, console, "notice-form")
    fill_notice(lounge, notice, wrong_check_digit(notice["nhs_number"]))
    lounge.get_by_role("button", name="Send release notice").click()
    assert lounge.title().startswith("Error: ")
    summary = lounge.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("NHS number")
    link = summary.get_by_role("link", name="NHS number", exact=False)
    assert link.get_attribute("href") == "#nhs_number"
    check_page(lounge, console, "notice-form-error")
    link.click()
    expect(lounge.locator("#nhs_number")).to_be_focused()
    assert notice_audit(console, notice["prison_number"]) == []

    # Corrected: sent as this person, and the lounge shows the release with its items pending.
    lounge.get_by_label("NHS number (optional)").fill(notice["nhs_number"])
    lounge.get_by_role("button", name="Send release notice").click()
    expect(lounge.get_by_text("Release notice sent")).to_be_visible()
    [record] = eventually(lambda: notice_audit(console, notice["prison_number"]), what="the notice's audit record")
    assert (record["actor"], record["actor_organisation"]) == ("hc.dmi@console", "DMI-HC")
    card = lounge.locator(".ttg-release", has_text=notice["family_name"])
    eventually(lambda: (lounge.reload(), card.count())[1] == 1, timeout=30, what="the release in the lounge")
    mental_health = card.locator("[data-item=mental_health_referral]")
    expect(mental_health).to_have_attribute("data-status", "pending")
    handover_id = card.get_attribute("data-handover-id")

    # The mental-health team: enrols its authenticator app, sees only its sections, accepts with an appointment.
    team = new_context(browser)
    inbox = team.new_page()
    sign_in(inbox, console, "cmht.durham", check=True)
    check_page(inbox, console, "inbox")
    # The card reads right before and after the day: "release date", not "released" for a release to come.
    leaves = date.fromisoformat(notice["release"]["date"])
    card_of_notice = inbox.locator(".ttg-release", has_text=f"{notice['given_name']} {notice['family_name']}")
    expect(card_of_notice.first).to_contain_text(f"release date {leaves.day} {leaves:%B %Y}, from DMI")
    follow(inbox, inbox.get_by_role("link", name=f"{notice['given_name']} {notice['family_name']}").first)
    check_page(inbox, console, "referral")
    sections = set(inbox.locator("[data-section]").evaluate_all("nodes => nodes.map(n => n.dataset.section)"))
    with console.system.client("handover", "cmht-dur") as http:
        [item] = [i for i in http.get("/v1/agencies/CMHT-DUR/handovers").json() if i["handover_id"] == handover_id]
    assert sections == {name for name, value in item["sent"]["pack"].items() if value} - {"patient_demographics"}
    assert "mental_health" in sections and "reporting_instructions" not in sections, sections
    inbox.locator("#answer-2").check()  # accepted
    appointment = date.fromisoformat(notice["release"]["date"]) + timedelta(days=2)
    inbox.locator("#appt_date-day").fill(str(appointment.day))
    inbox.locator("#appt_date-month").fill(str(appointment.month))
    inbox.locator("#appt_date-year").fill(str(appointment.year))
    inbox.get_by_label("Time of the first appointment (for example 14:30)").fill("10:30")
    inbox.get_by_label("Where the first appointment is").fill("Durham community hub, room 2")
    inbox.get_by_role("button", name="Send answer").click()
    expect(inbox.get_by_text("Your answer was sent: accepted")).to_be_visible()

    # The prison's lounge, never reloaded since, shows mental health done.
    expect(mental_health).to_have_attribute("data-status", "done", timeout=30_000)

    # Searchable by prison number or name.
    lounge.goto(f"{console.url}/lounge?q={notice['prison_number']}&days=7")
    expect(lounge.locator(".ttg-release")).to_have_count(1)
    lounge.goto(f"{console.url}/lounge?q=Nobody+Atall&days=28")
    expect(lounge.get_by_text("No releases in this period")).to_be_visible()
    lounge.goto(f"{console.url}/releases/{handover_id}")
    expect(lounge.locator(".ttg-timeline")).to_contain_text("CMHT-DUR accepted")
    check_page(lounge, console, "person")
    team.close()
    prison.close()


def submit_as_dmi(console: Console) -> tuple[dict[str, Any], str]:
    notice = durham_person(days_ahead=9)
    return notice, handover_of_new_notice(console, "prison-dmi", notice)


@pytest.mark.hazard("H63", "H64")
def test_another_organisation_gets_page_not_found_and_forms_without_their_token_are_refused(
    console: Console, browser: Browser
) -> None:
    notice, handover_id = submit_as_dmi(console)
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "hc.bmi")
    answer = page.goto(f"{console.url}/releases/{handover_id}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator("main")).not_to_contain_text(notice["family_name"])
    check_page(page, console, "page-not-found")

    follow(page, page.get_by_role("link", name="Accessibility statement"))
    check_page(page, console, "accessibility")

    forged = page.request.post(f"{console.url}/notices/new", form={"prison_number": "A1234BC"})
    assert forged.status == 403
    assert "This form has expired" in forged.text()
    page.goto(f"{console.url}/notices/new")
    check_page(page, console, "notice-form-bmi")
    context.close()


@pytest.mark.hazard("H65")
def test_repeated_wrong_passwords_are_throttled(console: Console, browser: Browser) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{console.url}/sign-in")
    for _ in range(5):
        page.get_by_label("User ID").fill("hc.guessed")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("not right")
    page.get_by_label("User ID").fill("hc.guessed")
    page.get_by_label("Password").fill(console.people["hc.guessed"].password)  # right, but too late
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Too many failed attempts")
    assert page.title().startswith("Error: ")
    check_page(page, console, "sign-in-throttled")
    context.close()


@pytest.mark.hazard("H66")
def test_a_session_idle_past_the_timeout_is_signed_out(console: Console, browser: Browser) -> None:
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "hc.idle")
    try:
        console.move_clock(29 * 60)
        page.goto(f"{console.url}/lounge")
        expect(page.get_by_role("heading", level=1)).to_have_text("Departure lounge")  # 29 min: still signed in
        console.move_clock(29 * 60 + 31 * 60)
        # The open lounge, refreshing itself, leaves the unattended screen for the sign-in page by itself.
        expect(page).to_have_url(f"{console.url}/sign-in?timed_out=true", timeout=20_000)
        expect(page.get_by_text("You were signed out")).to_be_visible()
        check_page(page, console, "signed-out-idle")
    finally:
        console.move_clock(0)
        context.close()


def test_the_console_answers_only_over_its_pages(console: Console) -> None:
    """No API docs or OpenAPI on the console; pages are never cached; its cookies are HttpOnly and SameSite."""
    for path in ("/docs", "/openapi.json"):
        assert httpx.get(console.url + path).status_code == 404
    page = httpx.get(console.url + "/sign-in")
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def referral_of(console: Console, client: str, agency: str, handover_id: str) -> dict[str, Any]:
    with console.system.client("handover", client) as http:
        found = eventually(
            lambda: [i for i in http.get(f"/v1/agencies/{agency}/handovers").json() if i["handover_id"] == handover_id],
            what=f"the referral to {agency}",
        )
    return found[0]


@pytest.mark.hazard("H61")
def test_probation_confirms_and_the_release_day_summary_prints_only_what_the_person_needs(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    notice, handover_id = submit_as_dmi(console)
    released = date.fromisoformat(notice["release"]["date"])
    appointment = datetime.combine(released + timedelta(days=1), clock_time(11), ZoneInfo("Europe/London"))  # 11:00 UK
    mental_health = referral_of(console, "cmht-dur", "CMHT-DUR", handover_id)
    with console.system.client("handover", "cmht-dur") as http:
        http.post(
            mental_health["answer_url"],
            json={
                "answer": "accepted",
                "first_appointment": {"at": appointment.isoformat(), "place": "Durham wellbeing centre"},
            },
        ).raise_for_status()

    # Probation confirms the reporting instructions through its form.
    probation_context = new_context(browser)
    page = probation = probation_context.new_page()
    sign_in(page, console, "probation.durham")
    reporting = referral_of(console, "probation-dur", "PDU-DUR", handover_id)
    page.goto(f"{console.url}/inbox/{reporting['referral_id']}")
    check_page(page, console, "probation-referral")
    shown = page.locator("[data-section]").evaluate_all("nodes => nodes.map(n => n.dataset.section)")
    assert "mental_health" not in shown and "medications" not in shown, shown
    page.locator("#answer-2").check()  # confirm
    page.get_by_label("Probation office").fill("Durham probation office, Old Elvet")
    report = released + timedelta(days=1)
    page.locator("#report_date-day").fill(str(report.day))
    page.locator("#report_date-month").fill(str(report.month))
    page.locator("#report_date-year").fill(str(report.year))
    page.get_by_label("Time the person reports (for example 10:00)").fill("09:30")
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_text("Your answer was sent: confirmed")).to_be_visible()

    # Prison healthcare prints the person's summary: GP, appointment, each medicine with its run-out day, reporting.
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "hc.print")
    page.goto(f"{console.url}/releases/{handover_id}/summary")
    check_page(page, console, "release-day-summary")
    pdf = tmp_path / "summary.pdf"
    page.pdf(path=str(pdf))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(str(pdf)).pages)
    assert "Durham wellbeing centre" in text and "11:00" in text
    for medicine in notice["medications"]:
        runs_out = released + timedelta(days=medicine["supply_days_given"])
        assert medicine["name"] in text and f"{runs_out.day} {runs_out:%B %Y}" in text, (medicine["name"], text)
    assert "Durham probation office, Old Elvet" in text and "09:30" in text
    assert "NHS 111" in text  # who to call in a crisis
    assert "GP" in text and ("register you" in text or "Your GP practice is" in text)
    for secret in (*notice["mental_health"]["diagnoses"], notice["nhs_number"], "self harm", "Sign out"):
        assert secret not in text, secret

    # The prison moves the release date past the confirmed report time: probation's inbox asks to confirm again.
    page.goto(f"{console.url}/releases/{handover_id}")
    follow(page, page.get_by_role("link", name="Record a custody event"))
    check_page(page, console, "custody-event-form")
    page.get_by_label("The release date has changed").check()
    later = released + timedelta(days=10)
    page.locator("#release_date-day").fill(str(later.day))
    page.locator("#release_date-month").fill(str(later.month))
    page.locator("#release_date-year").fill(str(later.year))
    page.get_by_role("button", name="Record custody event").click()
    expect(page.get_by_text("Custody event recorded")).to_be_visible()
    context.close()

    card = probation.locator(f".ttg-release[data-referral-id='{reporting['referral_id']}']")
    eventually(
        lambda: (probation.goto(f"{console.url}/inbox"), card.locator(".ttg-reconfirm").count())[1] == 1,
        timeout=30,
        what="probation's inbox to ask for the confirmation again",
    )
    check_page(probation, console, "probation-inbox-reconfirm")
    probation.goto(f"{console.url}/inbox/{reporting['referral_id']}")
    expect(probation.get_by_role("heading", name="Confirm the reporting instructions again")).to_be_visible()
    probation_context.close()


def current_notice(console: Console, notice_id: str) -> dict[str, Any]:
    with console.system.client("release_events", "prison-dmi") as http:
        return http.get(f"/v1/release-notices/{notice_id}", params={"include": "notice"}).raise_for_status().json()


@pytest.mark.hazard("H73")
def test_prison_healthcare_corrects_a_notice_and_a_later_notice_stops_a_stale_correction(
    console: Console, browser: Browser
) -> None:
    # "I sent Durham's notice with the wrong surname. I open the person, correct it, and say why."
    notice, handover_id = submit_as_dmi(console)
    with console.system.client("handover", "prison-dmi") as http:
        notice_id = http.get(f"/v1/handovers/{handover_id}").json()["notice_id"]
    prison = new_context(browser)
    page = prison.new_page()
    sign_in(page, console, "hc.corrects")
    page.goto(f"{console.url}/releases/{handover_id}")
    page.get_by_role("link", name="Correct this notice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Correct this notice")
    expect(page.get_by_label("Last name")).to_have_value(notice["family_name"])
    expect(page.get_by_label("Postcode")).to_have_value(notice["release"]["destination"]["address"]["postcode"])
    check_page(page, console, "correct-notice")

    # Without a reason: the error summary names it and nothing is sent.
    page.get_by_label("Last name").fill("Corrected-Surname")
    page.get_by_role("button", name="Send correction").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary.get_by_role("link", name="Enter why the notice is corrected", exact=False)).to_have_attribute(
        "href", "#reason"
    )
    check_page(page, console, "correct-notice-error")
    assert current_notice(console, notice_id)["revision"] == 1

    page.get_by_label("Why is the notice corrected?").fill("Surname was misspelt")
    page.get_by_role("button", name="Send correction").click()
    expect(page.get_by_role("heading", name="Correction sent")).to_be_visible()
    expect(page).to_have_url(f"{console.url}/releases/{handover_id}?corrected=sent")
    check_page(page, console, "person-corrected")
    corrected = current_notice(console, notice_id)
    assert corrected["revision"] == 2
    # Only the name changed: medicines, allergies and the address's local authority are carried over unchanged.
    assert corrected["notice"]["family_name"] == "Corrected-Surname"

    def normal(body: dict[str, Any]) -> dict[str, Any]:
        whole = ReleaseNoticeV1.model_validate(body).model_dump(mode="json")
        return {key: value for key, value in whole.items() if key not in ("family_name", "prison_contact")}

    assert normal(corrected["notice"]) == normal(notice)
    with console.system.client("release_events", "operator") as http:  # operators never get clinical content
        assert http.get(f"/v1/release-notices/{notice_id}", params={"include": "notice"}).json()["notice"] is None
    with console.system.client("handover", "prison-dmi") as http:
        eventually(
            lambda: (
                http.get(f"/v1/handovers/{handover_id}").json()["pack"]["patient_demographics"]["family_name"]
                == "Corrected-Surname"
            ),
            timeout=30,
            what="the corrected pack",
        )

    # "While I had the form open, a colleague sent a new notice for the same person: mine is refused, I'm told why."
    page.goto(f"{console.url}/releases/{handover_id}/correct")
    later = {
        **corrected["notice"],
        "release": {
            **notice["release"],
            "date": (date.fromisoformat(notice["release"]["date"]) + timedelta(days=3)).isoformat(),
        },
    }
    with console.system.client("release_events", "prison-dmi") as http:
        http.post("/v1/release-notices", json=later, headers={"Idempotency-Key": str(uuid.uuid4())}).raise_for_status()
    page.get_by_label("First name").fill("Changed")
    page.get_by_label("Why is the notice corrected?").fill("First name too")
    page.get_by_role("button", name="Send correction").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("A later notice for this person replaced this one")
    assert current_notice(console, notice_id)["notice"]["given_name"] == notice["given_name"]
    check_page(page, console, "correct-notice-superseded")

    # Another prison's healthcare gets "Page not found"; a correction without the form's token is refused.
    other = new_context(browser)
    stranger = other.new_page()
    sign_in(stranger, console, "hc.bmi.corrects")
    answer = stranger.goto(f"{console.url}/releases/{handover_id}/correct")
    assert answer is not None and answer.status == 404
    expect(stranger.locator("main")).not_to_contain_text("Corrected-Surname")
    forged = page.request.post(f"{console.url}/releases/{handover_id}/correct", form={"reason": "x"})
    assert forged.status == 403
    other.close()
    prison.close()


@pytest.mark.hazard("H74")
def test_a_person_released_today_moves_to_recently_released_with_the_readiness_they_left_with(
    console: Console, browser: Browser
) -> None:
    # "Casey leaves today. I record the release; Casey leaves the list of releases to come and is under
    # Recently released, with what was ready and what was not."
    notice = durham_person(days_ahead=0)
    with console.system.client("release_events", "prison-dmi") as http:
        notice_id = (
            http.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
            .raise_for_status()
            .json()["notice_id"]
        )
    with console.system.client("handover", "prison-dmi") as http:
        [opened] = eventually(
            lambda: http.get("/v1/handovers", params={"notice_id": notice_id}).json(), what="the handover"
        )
    handover_id = opened["handover_id"]
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, console, "hc.leaving")
    page.goto(f"{console.url}/releases/{handover_id}")
    page.get_by_role("link", name="Record a custody event").click()
    page.get_by_label("The person has been released").check()
    page.get_by_role("button", name="Record custody event").click()
    expect(page.get_by_text("Custody event recorded: released")).to_be_visible()
    with console.system.client("handover", "prison-dmi") as http:
        eventually(
            lambda: http.get(f"/v1/handovers/{handover_id}").json()["state"] == "released",
            timeout=30,
            what="the release applied",
        )

    page.goto(f"{console.url}/lounge?days=7&q={notice['prison_number']}")
    expect(page.get_by_text("No releases in this period")).to_be_visible()
    page.get_by_role("link", name="Recently released (last 14 days)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recently released")
    card = page.locator(".ttg-release", has_text=notice["family_name"])
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-handover-id", handover_id)
    expect(card.locator("[data-item=medication]")).to_have_count(1)
    check_page(page, console, "recently-released")
    # Only the establishment's own: Birmingham's healthcare does not see Durham's released person.
    other = new_context(browser)
    stranger = other.new_page()
    sign_in(stranger, console, "hc.bmi.leaving")
    stranger.goto(f"{console.url}/lounge?view=released")
    expect(stranger.locator("main")).not_to_contain_text(notice["family_name"])
    answer = stranger.goto(f"{console.url}/lounge?view=released&establishment=DMI")
    assert answer is not None and answer.status == 404
    other.close()
    context.close()
