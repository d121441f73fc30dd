"""The console in a real browser: headless Chromium (Debian's) driven by Playwright, the whole system underneath
on real parts. Every page is checked with axe-core (WCAG 2.2 A and AA) and at 320 px wide, and screenshotted
into var/screenshots/ (left behind by the run, not committed)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pypdf import PdfReader

from contracts.release_notice import ReleaseNoticeV1
from services.common.roles import Role
from services.notifier.adapters.offset_clock import write_offset
from tests.conftest import BACKENDS, require_backend
from tests.support.polling import eventually
from tests.support.receiver import Behaviour
from tests.support.system import RunningSystem, start_system, stop_system
from ttg.personas import Persona, Provisioned, provision_personas
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "services" / "console" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

PEOPLE = (
    Persona("hc.dmi", "Priya Shah", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("hc.bmi", "Jon Price", "BMI-HC", Role.PRISON_HEALTHCARE, ("BMI",)),
    Persona("cmht.durham", "Tom Reilly", "CMHT-DUR", Role.AGENCY, (), enrolled=False),
    Persona("hc.guessed", "Kim Lowe", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("hc.idle", "Ali Khan", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("hc.print", "Jo Bell", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("probation.durham", "Sam Carter", "PDU-DUR", Role.PROBATION),
    Persona("operator", "Lee Morgan", "TTG-OPS", Role.OPERATOR),
    Persona("operator.replay", "Dee Shaw", "TTG-OPS", Role.OPERATOR),
    Persona("operator.replay.all", "Max Rowe", "TTG-OPS", Role.OPERATOR),
    # One person per test that signs in (a security code is accepted once, so two sign-ins of one person in the
    # same 30 seconds would be refused as a replay).
    Persona("hc.corrects", "Ruth Ellis", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("hc.leaving", "Omar Aziz", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("hc.bmi.corrects", "Nia Jones", "BMI-HC", Role.PRISON_HEALTHCARE, ("BMI",)),
    Persona("hc.bmi.leaving", "Ben Hart", "BMI-HC", Role.PRISON_HEALTHCARE, ("BMI",)),
    Persona("operator.directory", "Kay Finch", "TTG-OPS", Role.OPERATOR),
    Persona("hc.not.operator", "Ivy Moss", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("operator.outage", "Rob Vance", "TTG-OPS", Role.OPERATOR),
)


@dataclass
class Console:
    system: RunningSystem
    url: str
    people: dict[str, Provisioned]
    clock_file: Path
    backend: str
    notifier_clock: Path

    def move_clock(self, seconds: float) -> None:
        self.clock_file.write_text(f"{seconds}\n")

    def offset(self) -> float:
        text = self.clock_file.read_text().strip() if self.clock_file.exists() else ""
        return float(text or 0)

    def code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(time.time() + self.offset())


@pytest.fixture(scope="module", params=BACKENDS)
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"console-{backend}")
    clock_file = tmp / "console-clock"
    extra_env = {
        "TTG_CONSOLE_TEST_CLOCK": "1",
        "TTG_CONSOLE_TEST_CLOCK_FILE": str(clock_file),
        # Two delivery rounds then dead-lettered, on a clock the test moves: an operator has something to replay.
        "TTG_NOTIFIER_TEST_CLOCK": "1",
        "TTG_NOTIFIER_TEST_CLOCK_FILE": str(tmp / "notifier-clock"),
        "TTG_NOTIFIER_RETRY_SCHEDULE_SECONDS": json.dumps([0, 60]),
        "TTG_NOTIFIER_DISPATCH_IDLE_SECONDS": "0.2",
    }
    running = start_system(tmp, backend, console=True, extra_env=extra_env)
    try:
        people = {
            made.persona.user_id: made for made in provision_personas(running.stack.database_url("console"), PEOPLE)
        }
        yield Console(running, running.stack.url("console"), people, clock_file, backend, tmp / "notifier-clock")
    finally:
        stop_system(running)


@pytest.fixture(scope="module")
def browser(console: Console) -> Iterator[Browser]:
    """Chromium for one system: started after it and stopped before it, because Playwright's synchronous API
    keeps an event loop running while the browser lives, and starting a system runs its own (asyncio.run)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def new_context(browser: Browser) -> BrowserContext:
    # axe-core is injected as a script tag; the console's own CSP (rightly) refuses inline scripts.
    return browser.new_context(bypass_csp=True, viewport={"width": 1024, "height": 900})


def follow(page: Page, link: Locator) -> None:
    """Click a link and wait for the page it leads to: checking straight after a bare click can catch the old
    document being torn down (axe's script tag then finds no <head>)."""
    with page.expect_navigation():
        link.click()


def check_page(page: Page, console: Console, name: str) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation; nothing scrolls sideways at 320 px; screenshots at both widths."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("load")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: "tag", values: tags}})).violations
             .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))""",
        WCAG,
    )
    assert violations == [], f"{name}: {violations}"
    page.screenshot(path=str(SCREENSHOTS / f"{console.backend}-{name}.png"), full_page=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 700})
    try:  # the header's script re-lays its menu out after a resize: give the layout a moment to settle
        page.wait_for_function("document.documentElement.scrollWidth <= 320", timeout=5_000)
    except PlaywrightTimeout:
        pass
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(SCREENSHOTS / f"{console.backend}-{name}-320.png"), full_page=True)
    assert width <= 320, f"{name} scrolls sideways at 320 px ({width} px wide)"
    if size:
        page.set_viewport_size(size)


def sign_in(page: Page, console: Console, user_id: str, *, check: bool = False) -> None:
    """Password, then the security code; a person without an authenticator app enrols one from the QR page."""
    page.goto(console.url + "/")
    expect(page).to_have_url(console.url + "/sign-in")
    if check:
        check_page(page, console, "sign-in")
    page.get_by_label("User ID").fill(user_id)
    page.get_by_label("Password").fill(console.people[user_id].password)
    page.get_by_role("button", name="Continue").click()
    secret = console.people[user_id].totp_secret
    if not secret:
        expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
        expect(page.locator(".ttg-qr svg")).to_be_visible()
        if check:
            check_page(page, console, "enrol")
        secret = page.locator("#totp-secret").inner_text().strip()
        page.get_by_label("Security code").fill(console.code(secret))
        page.get_by_role("button", name="Continue").click()
    else:
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
        if check:
            check_page(page, console, "security-code")
        page.get_by_label("Security code").fill(console.code(secret))
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Sign out")).to_be_visible()


def notice_audit(console: Console, prison_number: str) -> list[dict[str, Any]]:
    with console.system.client("release_events", "operator") as http:
        records = http.get("/v1/audit", params={"subject": prison_number}).json()
    return [record for record in records if record["action"] == "notice.submitted"]


def fill_notice(page: Page, notice: dict[str, Any], nhs_number: str) -> None:
    born, leaves = date.fromisoformat(notice["date_of_birth"]), date.fromisoformat(notice["release"]["date"])
    address = notice["release"]["destination"]["address"]
    page.get_by_label("Prison number").fill(notice["prison_number"])
    page.get_by_label("NHS number (optional)").fill(nhs_number)
    page.get_by_label("First name").fill(notice["given_name"])
    page.get_by_label("Last name").fill(notice["family_name"])
    for prefix, day in (("date_of_birth", born), ("release_date", leaves)):
        page.locator(f"#{prefix}-day").fill(str(day.day))
        page.locator(f"#{prefix}-month").fill(str(day.month))
        page.locator(f"#{prefix}-year").fill(str(day.year))
    page.get_by_label("Type of release").select_option("conditional")
    page.get_by_label("Address line 1").fill(address["lines"][0])
    page.get_by_label("Town or city").fill(address["town"])
    page.get_by_label("Postcode").fill(address["postcode"])
    page.get_by_label("Mental-health referral").select_option("routine")
    page.locator("#mh_consent").check()  # "Yes"
    page.get_by_label("Your phone number").fill("0191 000 0000")


def durham_person(days_ahead: int = 5) -> dict[str, Any]:
    notice = release_notice(place="durham")
    notice["release"]["date"] = (datetime.now(UTC).date() + timedelta(days=days_ahead)).isoformat()
    return notice


def wrong_check_digit(nhs_number: str) -> str:
    return nhs_number[:9] + str((int(nhs_number[9]) + 1) % 10)


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
    with console.system.client("release_events", "prison-dmi") as http:
        notice_id = (
            http.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
            .raise_for_status()
            .json()["notice_id"]
        )
    with console.system.client("handover", "prison-dmi") as http:
        found = eventually(
            lambda: http.get("/v1/handovers", params={"notice_id": notice_id}).json(), what="the handover"
        )
    return notice, found[0]["handover_id"]


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
    with console.system.client("release_events", "prison-bmi") as http:
        notice_id = (
            http.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
            .raise_for_status()
            .json()["notice_id"]
        )
    with console.system.client("handover", "prison-bmi") as http:
        handover_id = eventually(
            lambda: http.get("/v1/handovers", params={"notice_id": notice_id}).json(), what="the handover"
        )[0]["handover_id"]
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


def handover_of_new_notice(console: Console, client: str, notice: dict[str, Any]) -> str:
    with console.system.client("release_events", client) as http:
        notice_id = (
            http.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
            .raise_for_status()
            .json()["notice_id"]
        )
    with console.system.client("handover", client) as http:
        return eventually(
            lambda: http.get("/v1/handovers", params={"notice_id": notice_id}).json(), what="the handover"
        )[0]["handover_id"]


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
