"""The outcomes dataset on the running system (real broker, databases, services, console; SQLite and
PostgreSQL): a scripted set of Durham releases (ready and attended, late, rejected then re-routed then
escalated, cancelled) whose report equals the figures worked out here from what each step did; the CSV says the
same as the JSON; the console's Outcomes page shows the same figures and passes axe."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from services.common.roles import Role
from tests.acceptance.test_domain import answer, at, get, handover, open_handover, post, wait_for_webhooks
from tests.conftest import BACKENDS, require_backend
from tests.support.console_pages import Console, check_page, new_context, sign_in
from tests.support.polling import eventually
from tests.support.seeding import seeded_rng
from tests.support.system import RunningSystem, start_system, stop_system
from ttg.personas import Persona, provision_personas
from ttg.synthetic import custody_event, release_notice

pytestmark = pytest.mark.acceptance

DURHAM_FIRST = {"A99001", "CMHT-DUR", "PDU-DUR"}
KIND = {
    "A99001": "gp_practice",
    "CMHT-DUR": "community_mental_health_team",
    "PDU-DUR": "probation_delivery_unit",
    "RECONNECT-DUR": "reconnect",
}


PEOPLE = (
    Persona("operator.outcomes", "Lee Morgan", "TTG-OPS", Role.OPERATOR),
    Persona("hc.dmi.outcomes", "Priya Shah", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Persona("hc.bmi.outcomes", "Jon Price", "BMI-HC", Role.PRISON_HEALTHCARE, ("BMI",)),
)


@pytest.fixture(scope="module", params=BACKENDS)
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The whole system with its console, on one backend, and the people who read the Outcomes page."""
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"outcomes-{backend}")
    running = start_system(tmp, backend, console=True)
    try:
        made = provision_personas(running.stack.database_url("console"), PEOPLE)
        people = {person.persona.user_id: person for person in made}
        yield Console(running, running.stack.url("console"), people, tmp / "clock", backend, tmp / "notifier-clock")
    finally:
        stop_system(running)


@pytest.fixture(scope="module")
def system(console: Console) -> RunningSystem:
    return console.system


@dataclass
class Script:
    """What the scripted releases did, from which the test works out the report."""

    ready: dict[str, list[bool]] = field(default_factory=dict)  # item -> done at release, one per release
    waits: dict[str, list[float]] = field(default_factory=dict)  # agency kind -> hours from delivery to answer
    released: int = 0
    cancelled: int = 0


def delivered_at(system: RunningSystem, handover_id: str, agency: str) -> datetime:
    def finished() -> datetime | None:
        found = get(system, "notifier", "/v1/deliveries", handover_id=handover_id)
        times = [d["finished_at"] for d in found if d["agency_code"] == agency and d["status"] == "delivered"]
        return min(datetime.fromisoformat(t) for t in times) if times else None

    found = eventually(finished, what=f"the delivery to {agency}")
    assert found is not None
    return found


def first_answer(script: Script, system: RunningSystem, handover_id: str, agency: str, referral: str, body: Any) -> Any:
    """An agency's first answer on a referral, and the time it took from delivery."""
    since = delivered_at(system, handover_id, agency)
    response = answer(system, agency, referral, body)
    assert response.status_code == 201, response.text
    waited = (datetime.now(UTC) - since).total_seconds() / 3600
    script.waits.setdefault(KIND[agency], []).append(waited)
    return response.json()


def release(script: Script, system: RunningSystem, notice: dict[str, Any], handover_id: str) -> None:
    """The person leaves: readiness as it stands now is what the dataset must keep."""
    for item in handover(system, handover_id)["readiness"]["items"]:
        script.ready.setdefault(item["item"], []).append(item["status"] == "done")
    event = custody_event(notice["prison_number"], "released", sequence=1, reason="released")
    assert post(system, "release_events", "/v1/custody-events", event).status_code == 202
    eventually(lambda: handover(system, handover_id)["state"] == "released", what="the release applied")
    script.released += 1


@pytest.fixture(scope="module")
def script(system: RunningSystem) -> Script:
    done = Script()
    day = datetime.now(UTC).date() + timedelta(days=3)  # no deadline of the notifier's falls before the report
    rng = seeded_rng()

    def person() -> tuple[dict[str, Any], str, dict[str, Any]]:
        notice = release_notice(rng, place="durham", release_in_days=0, today=day)
        handover_id = open_handover(system, notice)["handover_id"]
        return notice, handover_id, wait_for_webhooks(system, handover_id, "handover.pack.issued", DURHAM_FIRST)

    # Ready and attended: every agency answers in time; after release the team records the first appointment.
    notice, ready_id, issued = person()
    appointment = {"at": at(day + timedelta(days=2), 10), "place": "Durham hub"}
    cmht = issued["CMHT-DUR"]["referral_id"]
    first_answer(done, system, ready_id, "CMHT-DUR", cmht, {"answer": "accepted", "first_appointment": appointment})
    first_answer(done, system, ready_id, "A99001", issued["A99001"]["referral_id"], {"answer": "accepted"})
    reporting = {"office": "Durham Probation Office (fictitious)", "report_at": at(day, 15), "practitioner": "PO"}
    confirmed = {"answer": "confirmed", "reporting_instructions": reporting}
    first_answer(done, system, ready_id, "PDU-DUR", issued["PDU-DUR"]["referral_id"], confirmed)
    release(done, system, notice, ready_id)
    assert answer(system, "CMHT-DUR", cmht, {"answer": "completed", "attended": True}).status_code == 201

    # Late: only the practice has so much as acknowledged it by the day.
    notice, late_id, issued = person()
    first_answer(done, system, late_id, "A99001", issued["A99001"]["referral_id"], {"answer": "received"})
    release(done, system, notice, late_id)

    # Rejected and re-routed, then rejected again with nobody left: escalated.
    notice, routed_id, issued = person()
    body = {"answer": "rejected", "reason_code": "criteria_not_met"}
    rerouted = first_answer(done, system, routed_id, "CMHT-DUR", issued["CMHT-DUR"]["referral_id"], body)
    assert rerouted["rerouted_to"] == "RECONNECT-DUR"
    reconnect = wait_for_webhooks(system, routed_id, "handover.referral.rerouted", {"RECONNECT-DUR"})
    body = {"answer": "rejected", "reason_code": "capacity"}
    escalated = first_answer(done, system, routed_id, "RECONNECT-DUR", reconnect["RECONNECT-DUR"]["referral_id"], body)
    assert escalated["escalated_to"], escalated
    release(done, system, notice, routed_id)

    # Cancelled before the day: withdrawn, not a release.
    notice, cancelled_id, _ = person()
    event = custody_event(notice["prison_number"], "release_cancelled", sequence=1)
    assert post(system, "release_events", "/v1/custody-events", event).status_code == 202
    eventually(lambda: handover(system, cancelled_id)["state"] == "withdrawn", what="the cancellation applied")
    done.cancelled += 1
    return done


def report(system: RunningSystem, client: str = "operator", **params: str) -> Any:
    with system.client("handover", client) as http:
        response = http.get("/v1/reports/outcomes", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def figures_once(system: RunningSystem, ready: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The report's figures once the delivery outcomes have reached handover (``ready`` says when)."""

    seen: list[Any] = []

    def current() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = report(system, establishment="DMI")["figures"]
        seen[:] = [found]
        return found if ready(found) else None

    try:
        found = eventually(current, what="the report to count every delivered referral")
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; the report said {seen}") from None
    assert found is not None
    return found


def by(figures: list[dict[str, Any]], measure: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(f["agency_kind"], f["agency"], f["key"]): f for f in figures if f["measure"] == measure}


@pytest.mark.hazard("H77")
def test_the_report_over_scripted_releases_equals_the_figures_worked_out_by_hand(
    system: RunningSystem, script: Script
) -> None:
    answered = {kind: len(waits) for kind, waits in script.waits.items()}

    def counted(found: list[dict[str, Any]]) -> bool:
        times = by(found, "answer_hours_median")
        return {kind: times[(kind, "", "")]["count"] for kind, _, _ in times} == answered

    figures = figures_once(system, counted)
    month = datetime.now(UTC).strftime("%Y-%m")
    assert {(f["month"], f["establishment"]) for f in figures} == {(month, "DMI")}
    assert by(figures, "releases")[("", "", "")]["count"] == script.released == 3
    assert by(figures, "withdrawn")[("", "", "release_cancelled")]["count"] == script.cancelled == 1
    ready = by(figures, "ready_before_release")
    assert {item: (f["count"], f["total"]) for (_, _, item), f in ready.items()} == {
        item: (sum(marks), len(marks)) for item, marks in script.ready.items()
    }
    assert all(f["value"] == round(f["count"] / f["total"], 4) for f in ready.values())
    assert ready[("", "", "gp")]["count"] == 1  # only the ready release's practice had accepted
    for kind, waits in script.waits.items():
        median = by(figures, "answer_hours_median")[(kind, "", "")]["value"]
        p90 = by(figures, "answer_hours_p90")[(kind, "", "")]["value"]
        ranked = sorted(waits)[max(1, -(-9 * len(waits) // 10)) - 1]
        assert median == pytest.approx(statistics.median(waits), abs=0.01), kind
        assert p90 == pytest.approx(ranked, abs=0.01), kind
    rejections = by(figures, "rejections")
    assert {(agency, reason): f["count"] for (_, agency, reason), f in rejections.items()} == {
        ("CMHT-DUR", "criteria_not_met"): 1,
        ("RECONNECT-DUR", "capacity"): 1,
    }
    assert {agency: f["count"] for (_, agency, _), f in by(figures, "reroutes").items()} == {"CMHT-DUR": 1}
    assert {agency: f["count"] for (_, agency, _), f in by(figures, "escalations").items()} == {"RECONNECT-DUR": 1}
    attended = by(figures, "first_appointments_attended")
    assert {agency: (f["count"], f["total"]) for (_, agency, _), f in attended.items()} == {"CMHT-DUR": (1, 1)}


def test_the_csv_says_exactly_what_the_json_says(system: RunningSystem, script: Script) -> None:
    as_json = report(system)["figures"]
    with system.client("handover", "operator") as http:
        response = http.get("/v1/reports/outcomes", headers={"Accept": "text/csv"})
        by_param = http.get("/v1/reports/outcomes", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert by_param.text == response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))

    def typed(row: dict[str, str]) -> dict[str, Any]:
        numbers = {"count": int(row["count"]), "total": int(row["total"]) if row["total"] else None}
        return {**row, **numbers, "value": float(row["value"]) if row["value"] else None}

    assert [typed(row) for row in rows] == as_json and rows


@pytest.mark.hazard("H78")
def test_each_reader_sees_only_its_own_figures(system: RunningSystem, script: Script) -> None:
    assert {f["establishment"] for f in report(system, "prison-dmi")["figures"]} == {"DMI"}
    assert report(system, "prison-bmi")["figures"] == []
    with system.client("handover", "prison-bmi") as http:
        refused = http.get("/v1/reports/outcomes", params={"establishment": "DMI"})
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "establishment"
    team = report(system, "cmht-dur")["figures"]
    assert team and {f["agency"] for f in team} <= {"CMHT-DUR", ""}
    assert not {"releases", "ready_before_release", "withdrawn"} & {f["measure"] for f in team}
    with system.client("handover", "cmht-dur") as http:
        other = http.get("/v1/reports/outcomes", params={"agency": "A99001"})
        bad_month = http.get("/v1/reports/outcomes", params={"from": "2026-13"})
    assert other.status_code == 403 and other.json()["errors"][0]["field"] == "agency"
    assert bad_month.status_code == 422 and bad_month.headers["content-type"].startswith("application/problem+json")


def cells(page: Any, caption: str) -> list[list[str]]:
    table = page.locator("table", has=page.locator("caption", has_text=caption))
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in table.locator("tbody tr").all()]


def test_the_console_page_charts_the_same_figures_with_tables_and_passes_axe(
    console: Console, browser: Browser, script: Script
) -> None:
    figures = report(console.system)["figures"]
    where = f"{datetime.now(UTC):%Y-%m}, DMI"
    ready = {f["key"]: f for f in figures if f["measure"] == "ready_before_release"}
    attended = {f["agency"]: f for f in figures if f["measure"] == "first_appointments_attended"}
    with new_context(browser) as context:
        page = context.new_page()
        sign_in(page, console, "operator.outcomes")
        page.goto(console.url + "/outcomes")
        expect(page.get_by_role("heading", level=1)).to_have_text("Outcomes")
        assert cells(page, "Releases and withdrawn handovers") == [[where, str(script.released), str(script.cancelled)]]
        shown = {row[0]: row[2:] for row in cells(page, "Ready before release, per item")}
        assert shown["GP registration"] == [
            str(ready["gp"]["count"]),
            str(ready["gp"]["total"]),
            f"{round(100 * ready['gp']['value'])}%",
        ]
        assert len(shown) == len(ready)
        assert cells(page, "First appointments attended, per agency") == [
            ["CMHT-DUR", where, str(attended["CMHT-DUR"]["count"]), str(attended["CMHT-DUR"]["total"]), "100%"]
        ]
        assert page.locator(".ttg-chart svg rect").count() == len(ready) + len(attended) + len(
            [f for f in figures if f["measure"] == "answer_hours_median"]
        )
        check_page(page, console, "outcomes")
        page.get_by_label("From month").fill("December")
        page.get_by_role("button", name="Show outcomes").click()
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter a month such as 2026-12")
        check_page(page, console, "outcomes-error")
    with new_context(browser) as context:  # another prison: none of Durham's figures, and not by asking
        page = context.new_page()
        sign_in(page, console, "hc.bmi.outcomes")
        page.goto(console.url + "/outcomes")
        expect(page.get_by_text("No release was recorded in these months.")).to_be_visible()
        page.goto(console.url + "/outcomes?establishment=DMI")
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("only your own prison")
        assert "CMHT-DUR" not in page.content()
