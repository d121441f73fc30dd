"""The console in a real browser, shared by its acceptance modules: the people provisioned, the running console,
and the page helpers (sign-in with the security code, axe-core and 320 px checks, screenshots into
var/screenshots/, left behind by the run and not committed)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from services.common.roles import Role
from tests.support.polling import eventually
from tests.support.system import RunningSystem
from ttg.personas import Persona, Provisioned
from ttg.synthetic import release_notice

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


def handover_of_new_notice(console: Console, client: str, notice: dict[str, Any]) -> str:
    """Send ``notice`` as ``client`` through the API and wait for its handover: the id of that handover."""
    with console.system.client("release_events", client) as http:
        notice_id = (
            http.post("/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())})
            .raise_for_status()
            .json()["notice_id"]
        )
    with console.system.client("handover", client) as http:
        found = eventually(
            lambda: http.get("/v1/handovers", params={"notice_id": notice_id}).json(), what="the handover"
        )
    return str(found[0]["handover_id"])
