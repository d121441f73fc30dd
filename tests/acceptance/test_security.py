"""Issue 6 acceptance: only the right people see the right care. Runs on the real services, broker and
databases (SQLite and PostgreSQL), real HTTP.

* the authorisation matrix: every role x endpoint x (own or another organisation's resource), zero leaks;
* writes that name a person follow custody; agencies see only the sections of their kind;
* revoked and rotated keys, and one client's Idempotency-Key out of another's reach.

The audit trail and the logs are checked in ``test_security_audit.py``, the fuzzing in ``test_security_fuzz.py``
(modules of their own so that the test run spreads them over its workers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common import credentials
from services.common.api_keys import split_key
from services.common.roles import Role, Scope
from tests.support.journeys import (
    BIRMINGHAM,
    DURHAM,
    KIND_OF,
    PROBLEM_JSON,
    Journey,
    expected_sections,
    identifiers,
)
from tests.support.seeding import seeded_rng
from tests.support.system import TEST_CLIENTS, RunningSystem
from ttg.synthetic import custody_event, prison_number, release_notice

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]


# --- the authorisation matrix --------------------------------------------------------------------------

CALLERS = [
    "anonymous",
    "bad-key",
    "prison-dmi",
    "prison-bmi",
    "gp-A99001",
    "cmht-dur",
    "probation-dur",
    "gp-A99003",
    "cmht-bhm",
    "operator",
]

# Every operation of the three services' OpenAPI, under the name the matrix gives it (two rows may try one
# operation two ways). ``test_the_matrix_covers_every_operation_of_every_service`` fails on a new route.
ANSWERS = "/v1/agencies/{agency_code}/referrals/{referral_id}/answers"
ROUTES: dict[str, tuple[str, str, str]] = {
    "submit notice": ("release_events", "POST", "/v1/release-notices"),
    "notice status": ("release_events", "GET", "/v1/release-notices/{notice_id}"),
    "amend notice": ("release_events", "POST", "/v1/release-notices/{notice_id}/amendments"),
    "submit custody event": ("release_events", "POST", "/v1/custody-events"),
    "custody event status": ("release_events", "GET", "/v1/custody-events/{custody_event_id}"),
    "audit release_events": ("release_events", "GET", "/v1/audit"),
    "handover": ("handover", "GET", "/v1/handovers/{handover_id}"),
    "handover fhir": ("handover", "GET", "/v1/handovers/{handover_id}/fhir"),
    "handovers of notice": ("handover", "GET", "/v1/handovers"),
    "custody log": ("handover", "GET", "/v1/people/{prison_number}/custody-events"),
    "answer": ("handover", "POST", ANSWERS),
    "answer under own code": ("handover", "POST", ANSWERS),
    "worklist": ("handover", "GET", "/v1/agencies/{agency_code}/handovers"),
    "releases": ("handover", "GET", "/v1/establishments/{code}/releases"),
    "directory": ("handover", "GET", "/v1/directory/agencies"),
    "directory agency": ("handover", "GET", "/v1/directory/agencies/{code}"),
    "directory put": ("handover", "PUT", "/v1/directory/agencies/{code}"),
    "directory secret": ("handover", "POST", "/v1/directory/agencies/{code}/secret"),
    "directory delete": ("handover", "DELETE", "/v1/directory/agencies/{code}"),
    "audit handover": ("handover", "GET", "/v1/audit"),
    "outcomes report": ("handover", "GET", "/v1/reports/outcomes"),
    "deliveries": ("notifier", "GET", "/v1/deliveries"),
    "delivery": ("notifier", "GET", "/v1/deliveries/{webhook_id}"),
    "dead letters": ("notifier", "GET", "/v1/dead-letters"),
    "replay dead letter": ("notifier", "POST", "/v1/dead-letters/{webhook_id}/replay"),
    "replay endpoint": ("notifier", "POST", "/v1/dead-letters/replay"),
    "endpoints": ("notifier", "GET", "/v1/endpoints"),
    "pause endpoint": ("notifier", "POST", "/v1/endpoints/{agency_code}/pause"),
    "resume endpoint": ("notifier", "POST", "/v1/endpoints/{agency_code}/resume"),
    "escalations": ("notifier", "GET", "/v1/escalations"),
    "referrals": ("notifier", "GET", "/v1/referrals"),
    "delivery audit": ("notifier", "GET", "/v1/delivery-audit"),
    "audit notifier": ("notifier", "GET", "/v1/audit"),
    **{
        f"outbox replay {name}": (name, "POST", "/v1/outbox/replay")
        for name in ("release_events", "handover", "notifier")
    },
}


def table(text: str) -> dict[str, dict[str, int]]:
    """Rows of ``endpoint: status per caller``, callers in the order of ``CALLERS``."""
    rows = {}
    for line in text.strip().splitlines():
        endpoint, _, statuses = line.partition(":")
        rows[endpoint.strip()] = dict(zip(CALLERS, map(int, statuses.split()), strict=True))
    return rows


# Expected status of each caller on each endpoint, for the resources of the Durham person (released from DMI,
# addressed to A99001, CMHT-DUR, PDU-DUR) and of the Birmingham person (BMI; A99003, CMHT-BHM, PDU-BHM).
# For each caller, one of the two is its own (or addressed to it) and the other another organisation's:
# where a row names an agency (answers, worklists, deliveries by id) it is the agency of the caller's kind in
# that area (``agency_for``), so a Durham GP asks for A99001's in Durham and for A99003's in Birmingham.
# What each row's cells prove, and why its writes disturb nothing else in the module, is in ``request_for``.
MATRIX: dict[str, dict[str, dict[str, int]]] = {
    #                     anon bad p-dmi p-bmi gp-dur cmht-dur pdu-dur gp-bhm cmht-bhm operator
    "dmi": table("""
        submit notice:         401 401 202 403 403 403 403 403 403 403
        notice status:         401 401 200 404 403 403 403 403 403 200
        amend notice:          401 401 200 404 403 403 403 403 403 403
        submit custody event:  401 401 202 403 403 403 403 403 403 403
        custody event status:  401 401 200 404 403 403 403 403 403 200
        audit release_events:  401 401 403 403 403 403 403 403 403 200
        handover:              401 401 200 404 200 200 200 404 404 403
        handover fhir:         401 401 200 404 200 200 200 404 404 403
        handovers of notice:   401 401 200 200 200 200 200 200 200 403
        custody log:           401 401 200 404 403 403 403 403 403 403
        answer:                401 401 403 403 422 422 422 404 404 403
        answer under own code: 401 401 403 403 404 404 404 404 404 403
        worklist:              401 401 404 404 200 200 200 404 404 403
        releases:              401 401 200 404 403 403 403 403 403 403
        directory:             401 401 403 403 403 403 403 403 403 200
        directory agency:      401 401 403 403 403 403 403 403 403 200
        directory put:         401 401 403 403 403 403 403 403 403 201
        directory secret:      401 401 403 403 403 403 403 403 403 409
        directory delete:      401 401 403 403 403 403 403 403 403 204
        audit handover:        401 401 403 403 403 403 403 403 403 200
        outcomes report:       401 401 200 403 200 200 200 403 403 200
        deliveries:            401 401 200 200 200 200 200 200 200 200
        delivery:              401 401 200 404 200 200 200 404 404 200
        dead letters:          401 401 403 403 403 403 403 403 403 200
        replay dead letter:    401 401 403 403 403 403 403 403 403 404
        replay endpoint:       401 401 403 403 403 403 403 403 403 202
        endpoints:             401 401 403 403 403 403 403 403 403 200
        pause endpoint:        401 401 403 403 403 403 403 403 403 200
        resume endpoint:       401 401 403 403 403 403 403 403 403 200
        escalations:           401 401 200 404 403 403 403 403 403 200
        referrals:             401 401 403 403 403 403 403 403 403 200
        delivery audit:        401 401 403 403 403 403 403 403 403 200
        audit notifier:        401 401 403 403 403 403 403 403 403 200
        outbox replay release_events: 401 401 403 403 403 403 403 403 403 422
        outbox replay handover: 401 401 403 403 403 403 403 403 403 422
        outbox replay notifier: 401 401 403 403 403 403 403 403 403 422
    """),
    "bmi": table("""
        submit notice:         401 401 403 202 403 403 403 403 403 403
        notice status:         401 401 404 200 403 403 403 403 403 200
        amend notice:          401 401 404 200 403 403 403 403 403 403
        submit custody event:  401 401 403 202 403 403 403 403 403 403
        custody event status:  401 401 404 200 403 403 403 403 403 200
        audit release_events:  401 401 403 403 403 403 403 403 403 200
        handover:              401 401 404 200 404 404 404 200 200 403
        handover fhir:         401 401 404 200 404 404 404 200 200 403
        handovers of notice:   401 401 200 200 200 200 200 200 200 403
        custody log:           401 401 404 200 403 403 403 403 403 403
        answer:                401 401 403 403 404 404 404 422 422 403
        answer under own code: 401 401 403 403 404 404 404 404 404 403
        worklist:              401 401 404 404 404 404 404 200 200 403
        releases:              401 401 404 200 403 403 403 403 403 403
        directory:             401 401 403 403 403 403 403 403 403 200
        directory agency:      401 401 403 403 403 403 403 403 403 200
        directory put:         401 401 403 403 403 403 403 403 403 201
        directory secret:      401 401 403 403 403 403 403 403 403 409
        directory delete:      401 401 403 403 403 403 403 403 403 204
        audit handover:        401 401 403 403 403 403 403 403 403 200
        outcomes report:       401 401 403 200 403 403 403 200 200 200
        deliveries:            401 401 200 200 200 200 200 200 200 200
        delivery:              401 401 404 200 404 404 404 200 200 200
        dead letters:          401 401 403 403 403 403 403 403 403 200
        replay dead letter:    401 401 403 403 403 403 403 403 403 404
        replay endpoint:       401 401 403 403 403 403 403 403 403 202
        endpoints:             401 401 403 403 403 403 403 403 403 200
        pause endpoint:        401 401 403 403 403 403 403 403 403 200
        resume endpoint:       401 401 403 403 403 403 403 403 403 200
        escalations:           401 401 404 200 403 403 403 403 403 200
        referrals:             401 401 403 403 403 403 403 403 403 200
        delivery audit:        401 401 403 403 403 403 403 403 403 200
        audit notifier:        401 401 403 403 403 403 403 403 403 200
        outbox replay release_events: 401 401 403 403 403 403 403 403 403 422
        outbox replay handover: 401 401 403 403 403 403 403 403 403 422
        outbox replay notifier: 401 401 403 403 403 403 403 403 403 422
    """),
}

# What each caller sees in the lists (zero leaks: exactly this, and nothing for anyone else).
VISIBLE_HANDOVERS = {
    "dmi": {"prison-dmi", "gp-A99001", "cmht-dur", "probation-dur"},
    "bmi": {"prison-bmi", "gp-A99003", "cmht-bhm"},
}
VISIBLE_DELIVERIES = {
    "dmi": {
        "prison-dmi": DURHAM,
        "gp-A99001": {"A99001"},
        "cmht-dur": {"CMHT-DUR"},
        "probation-dur": {"PDU-DUR"},
        "operator": DURHAM,
    },
    "bmi": {
        "prison-bmi": BIRMINGHAM,
        "gp-A99003": {"A99003"},
        "cmht-bhm": {"CMHT-BHM"},
        "operator": BIRMINGHAM,
    },
}
# The kind of agency each agency caller is: it reads exactly the sections that kind is sent.
# The agency of each kind in each area; callers that are no agency ask for the mental-health team's.
AGENCIES = {
    "dmi": {
        "gp_practice": "A99001",
        "community_mental_health_team": "CMHT-DUR",
        "probation_delivery_unit": "PDU-DUR",
    },
    "bmi": {
        "gp_practice": "A99003",
        "community_mental_health_team": "CMHT-BHM",
        "probation_delivery_unit": "PDU-BHM",
    },
}
ORGANISATION = {client.client_id: client.organisation for client in TEST_CLIENTS}
# The endpoint the operator pauses then resumes: one that nothing in this module sends to (HHI's prison
# healthcare contact), so that pausing it holds no delivery another test waits for.
QUIET_ENDPOINT = "PH-HHI"


def agency_for(caller: str, area: str) -> str:
    """The agency of the caller's kind in ``area``: its own in its area, another organisation's elsewhere."""
    return AGENCIES[area][KIND_OF.get(caller, "community_mental_health_team")]


PLACE = {"dmi": "durham", "bmi": "birmingham"}
ESTABLISHMENT = {"dmi": "DMI", "bmi": "BMI"}
PRISON = {"dmi": "prison-dmi", "bmi": "prison-bmi"}


@dataclass
class AreaResources:
    """What the matrix asks for in one area besides the journey: its referrals and pack deliveries by agency
    code, and a custody event (of another synthetic person, so that the journey's handover is untouched)."""

    referrals: dict[str, str]
    webhooks: dict[str, str]
    custody_event_id: str


def custody_event_of_someone_else(area: str) -> dict[str, Any]:
    """A reception of a new synthetic person at the area's prison: a real, valid custody event that changes no
    handover (the person has none), so submitting it disturbs nothing the module's other tests look at."""
    return custody_event(
        prison_number(seeded_rng()),
        "reception",
        sequence=1,
        establishment_code=ESTABLISHMENT[area],
        reason="new_admission",
    )


@pytest.fixture(scope="module")
def resources(system: RunningSystem, journeys: dict[str, Journey]) -> dict[str, AreaResources]:
    found = {}
    for area, journey in journeys.items():
        with system.client("handover", PRISON[area]) as http:
            view = http.get(f"/v1/handovers/{journey.handover_id}").json()
        with system.client("notifier", PRISON[area]) as http:
            deliveries = http.get("/v1/deliveries", params={"handover_id": journey.handover_id}).json()
        with system.client("release_events", PRISON[area]) as http:
            accepted = http.post("/v1/custody-events", json=custody_event_of_someone_else(area))
        assert accepted.status_code == 202, accepted.text
        found[area] = AreaResources(
            referrals={r["agency_code"]: r["referral_id"] for r in view["referrals"]},
            webhooks={d["agency_code"]: d["webhook_id"] for d in reversed(deliveries)},
            custody_event_id=accepted.json()["custody_event_id"],
        )
        assert set(AGENCIES[area].values()) <= set(found[area].referrals) & set(found[area].webhooks)
    return found


@dataclass
class Ask:
    params: dict[str, Any] | None = None
    body: Any = None
    path: dict[str, str] | None = None


def request_for(endpoint: str, caller: str, journey: Journey, area: str, res: AreaResources) -> Ask:
    """The request each caller makes on ``endpoint`` in ``area``, and what its cells prove."""
    agency = agency_for(caller, area)
    today = date.today()
    match endpoint:
        case "submit notice":  # a real notice of the area's prison: only that prison may submit it
            return Ask(body=release_notice(place=PLACE[area]))
        case "notice status":
            return Ask(path={"notice_id": journey.notice_id})
        case "amend notice":
            # The journey's notice as its own correction: its prison gets past the scope, the ownership and
            # the custody register to the content check, which finds nothing new (200 duplicate, nothing
            # published); another prison: 404, as for a notice that does not exist.
            return Ask(path={"notice_id": journey.notice_id}, body={"notice": journey.notice})
        case "submit custody event":  # a reception of someone else: the area's prison only; no handover
            return Ask(body=custody_event_of_someone_else(area))
        case "custody event status":
            return Ask(path={"custody_event_id": res.custody_event_id})
        case "handover" | "handover fhir":  # the pack as JSON and as a FHIR Bundle: the same readers
            return Ask(path={"handover_id": journey.handover_id})
        case "handovers of notice":  # everyone with the scope gets 200, and a list of only what it may see
            return Ask(params={"notice_id": journey.notice_id})
        case "custody log":
            return Ask(path={"prison_number": journey.notice["prison_number"]})
        case "answer":
            # Its own referral: 422 naming "attended" proves the caller got past the scope, the ownership and
            # the referral lookup to the rules of answers, which refuse a completion without attendance
            # before anything is written; another agency's: 404. The referral stays "requested".
            return Ask(
                path={"agency_code": agency, "referral_id": res.referrals[agency]},
                body={"answer": "completed"},
            )
        case "answer under own code":
            # An agency names itself in the path but another agency's referral on the same handover: 404, as
            # for a referral that does not exist (the referral must belong to the agency of the path).
            other = AGENCIES[area][
                "gp_practice" if agency != AGENCIES[area]["gp_practice"] else "community_mental_health_team"
            ]
            return Ask(
                path={"agency_code": ORGANISATION.get(caller, agency), "referral_id": res.referrals[other]},
                body={"answer": "completed"},
            )
        case "worklist":
            return Ask(path={"agency_code": agency})
        case "outcomes report":  # the area's establishment and the caller's kind of agency there
            return Ask(params={"establishment": ESTABLISHMENT[area], "agency": agency})
        case "releases":  # a window around the journey's release date (14 days ahead)
            return Ask(
                path={"code": ESTABLISHMENT[area]},
                params={"from": today.isoformat(), "to": (today + timedelta(days=30)).isoformat()},
            )
        case "directory agency":
            return Ask(path={"code": AGENCIES[area]["community_mental_health_team"]})
        case "directory put" | "directory secret" | "directory delete":
            # A dedicated agency of this row (no coverage, so it routes nothing): the operator creates it
            # (201), gets past authorisation to rotating the secret it does not have (409: no endpoint), then
            # deactivates it (204); no other test's routing changes.
            code = f"MATRIX-{area.upper()}"
            body = {
                "code": code,
                "kind": "reconnect",
                "name": "Matrix test agency (fictitious)",
                "coverage": {"postcode_districts": [], "local_authorities": []},
            }
            if endpoint == "directory secret":
                return Ask(path={"code": code}, body={"secret": "whsec_" + "bWF0cml4LXRlc3Qtc2VjcmV0LTI0LWJ5dGVzIQ=="})
            return Ask(path={"code": code}, body=body if endpoint == "directory put" else None)
        case "deliveries" | "escalations" | "referrals" | "delivery audit":
            return Ask(params={"handover_id": journey.handover_id})
        case "delivery":
            return Ask(path={"webhook_id": res.webhooks[agency]})
        case "replay dead letter":
            # A delivered (not dead-lettered) delivery: the operator gets past authorisation to 404
            # "dead-letter-not-found", and nothing is sent again.
            return Ask(path={"webhook_id": res.webhooks[agency]})
        case "replay endpoint":  # the area's team has no dead letters: the operator replays nothing (202, [])
            return Ask(body={"agency_code": AGENCIES[area]["community_mental_health_team"]})
        case "outbox replay release_events" | "outbox replay handover" | "outbox replay notifier":
            # A window that starts tomorrow: the operator gets past authorisation to 422, and nothing is replayed.
            return Ask(body={"since": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
        case "pause endpoint" | "resume endpoint":  # the operator pauses a quiet endpoint, then resumes it
            return Ask(path={"agency_code": QUIET_ENDPOINT})
        case _:  # lists and the audit trails
            return Ask()


# Values of path parameters that name nothing, to compare "another organisation's" with "does not exist".
ABSENT = {
    "notice_id": str(uuid.uuid4()),
    "custody_event_id": str(uuid.uuid4()),
    "handover_id": str(uuid.uuid4()),
    "referral_id": str(uuid.uuid4()),
    "webhook_id": f"msg_{uuid.uuid4().hex}",
    "prison_number": "Z9999ZZ",
    "agency_code": "NO-SUCH-AGENCY",
    "code": "ZZZ",
}


def call(
    system: RunningSystem,
    caller: str,
    endpoint: str,
    journey: Journey,
    area: str,
    res: AreaResources,
    *,
    absent: bool = False,
) -> httpx.Response:
    """``caller``'s request on ``endpoint``; with ``absent``, the same request for a resource that does not
    exist (answers keep the agency of the path: only the referral is absent)."""
    client = None if caller == "anonymous" else caller
    if caller == "bad-key":
        headers = {"Authorization": "Bearer ttg_0123456789abcdef_not-a-real-secret"}
        client = None
    else:
        headers = {}
    service, method, template = ROUTES[endpoint]
    ask = request_for(endpoint, caller, journey, area, res)
    values = dict(ask.path or {})
    if absent:
        values = {
            key: value if key == "agency_code" and "answer" in endpoint else ABSENT[key]
            for key, value in values.items()
        }
    with system.client(service, client) as http:
        return http.request(method, template.format(**values), params=ask.params, json=ask.body, headers=headers)


def problem_told(response: httpx.Response, path_values: list[str]) -> dict[str, Any]:
    """What a problem tells, with the ids the caller sent taken out (a 404 may name the id it was asked)."""
    problem = {key: response.json().get(key) for key in ("type", "title", "detail")}
    for value in path_values:
        problem["detail"] = (problem["detail"] or "").replace(value, "<id>")
    return problem


def check_content(
    system: RunningSystem,
    endpoint: str,
    caller: str,
    found: Any,
    text: str,
    journeys: dict[str, Journey],
    area: str,
    res: AreaResources,
) -> None:
    """What a successful answer holds: the caller's own resource, and nothing of anyone else's."""
    journey = journeys[area]
    other = journeys["bmi" if area == "dmi" else "dmi"]
    # The audit trails are the operator's record of everyone: they name people by prison number only.
    shown = identifiers(other.notice)[1:] if endpoint.startswith("audit") else identifiers(other.notice)
    assert all(value not in text for value in shown), f"{endpoint} as {caller} leaks"
    if endpoint == "handover":
        sections = expected_sections(system, journey, caller)
        assert set(found["pack"]) == sections == set(found["sections"]), caller
        assert found["pack"]["patient_demographics"]["nhs_number"] == journey.notice["nhs_number"]
    if endpoint == "handover fhir":  # the Bundle's sections are the JSON pack's for this caller, and no more
        composition = found["entry"][0]["resource"]
        codes = {section["code"]["coding"][0]["code"] for section in composition["section"]}
        assert codes - {"referrals"} == expected_sections(system, journey, caller), caller
        assert journey.notice["nhs_number"] in text
    if endpoint == "handovers of notice":
        visible = caller in VISIBLE_HANDOVERS[area]
        assert len(found) == (1 if visible else 0), f"{caller} sees {len(found)} handovers"
        assert all(set(item["pack"]) == expected_sections(system, journey, caller) for item in found)
        if not visible:
            assert all(value not in text for value in identifiers(journey.notice))
    if endpoint == "deliveries":
        assert {item["agency_code"] for item in found} == VISIBLE_DELIVERIES[area].get(caller, set()), caller
    if endpoint == "delivery":
        assert found["handover_id"] == journey.handover_id
        assert found["agency_code"] == agency_for(caller, area)
    if endpoint == "amend notice":
        assert found["status"] == "duplicate" and found["notice_id"] == journey.notice_id
    if endpoint in ("notice status", "custody event status"):
        assert found.get("notice_id", found.get("custody_event_id")) in (
            journey.notice_id,
            res.custody_event_id,
        )
    if endpoint == "custody log":
        assert all(item["handover_id"] in (None, journey.handover_id) for item in found)
    if endpoint == "worklist":
        mine = {item["referral_id"] for item in found if item["handover_id"] == journey.handover_id}
        assert mine == {res.referrals[agency_for(caller, area)]}, caller
        assert other.handover_id not in text
    if endpoint == "releases":
        assert journey.handover_id in {item["handover_id"] for item in found}
        assert {item["prison_number"] for item in found} >= {journey.notice["prison_number"]}
    if endpoint == "referrals":
        assert {item["agency_code"] for item in found} >= set(AGENCIES[area].values())
    if endpoint == "outcomes report":  # figures only: nobody named, an agency's own rows, the area's prison's
        assert all(value not in text for value in identifiers(journey.notice)), caller
        assert {figure["establishment"] for figure in found["figures"]} <= {ESTABLISHMENT[area]}
        if caller in KIND_OF:
            assert {figure["agency"] for figure in found["figures"]} <= {ORGANISATION[caller], ""}
    if endpoint in (
        "audit release_events",
        "audit handover",
        "audit notifier",
        "deliveries",
        "delivery",
        "dead letters",
        "endpoints",
        "escalations",
        "referrals",
        "delivery audit",
    ):  # metadata, never the person (audit: its prison number only)
        assert all(value not in text for value in identifiers(journey.notice)[1:]), f"{endpoint} as {caller}"
    if endpoint == "replay endpoint":
        assert found == {"replayed": []}
    if endpoint in ("pause endpoint", "resume endpoint"):
        assert {key: found[key] for key in ("agency_code", "status")} == {
            "agency_code": QUIET_ENDPOINT,
            "status": "paused" if endpoint == "pause endpoint" else "active",
        }
        assert found["waiting"] == [] and found["resent"] == [], "nothing failed to the quiet endpoint"
    if endpoint == "escalations":  # the prison of the release (or an operator): this handover's rows only
        assert all(item["handover_id"] == journey.handover_id for item in found)


@pytest.mark.hazard("H01", "H03", "H20", "H46", "H69", "H78")
@pytest.mark.parametrize("area", ["dmi", "bmi"])
def test_every_role_on_every_endpoint_gets_the_expected_status_with_zero_leaks(
    system: RunningSystem, journeys: dict[str, Journey], resources: dict[str, AreaResources], area: str
) -> None:
    journey = journeys[area]
    res = resources[area]
    expected = MATRIX[area]
    outcomes: dict[tuple[str, str], int] = {}
    for endpoint in expected:
        for caller in CALLERS:
            response = call(system, caller, endpoint, journey, area, res)
            outcomes[(endpoint, caller)] = response.status_code
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith(PROBLEM_JSON), (endpoint, caller)
                # ``instance`` echoes the path the caller sent (the custody log's holds a prison number)
                told = json.dumps({k: v for k, v in response.json().items() if k != "instance"})
                for value in identifiers(journey.notice):
                    assert value not in told, f"{endpoint} as {caller} leaks {value!r} in an error"
            if response.status_code == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
            if (endpoint, response.status_code) == ("answer", 422):  # got to the rules, which wrote nothing
                assert [error["field"] for error in response.json()["errors"]] == ["attended"], caller
            if (endpoint, response.status_code) == ("replay dead letter", 404):
                assert response.json()["type"].endswith("dead-letter-not-found"), response.text
            if response.status_code == 404:  # another organisation's: told exactly what "no such one" tells
                twin = call(system, caller, endpoint, journey, area, res, absent=True)
                sent = [*(request_for(endpoint, caller, journey, area, res).path or {}).values(), *ABSENT.values()]
                same = (twin.status_code, problem_told(twin, sent)) == (404, problem_told(response, sent))
                assert same, (endpoint, caller, response.text, twin.text)
            if response.status_code in (200, 201) and response.content:
                check_content(system, endpoint, caller, response.json(), response.text, journeys, area, res)
    wrong = {
        key: (status, expected[key[0]][key[1]])
        for key, status in outcomes.items()
        if status != expected[key[0]][key[1]]
    }
    assert not wrong, f"(endpoint, caller): (got, expected) {wrong}"
    with system.client("handover", PRISON[area]) as http:  # the answers changed no referral
        view = http.get(f"/v1/handovers/{journey.handover_id}").json()
    assert {r["status"] for r in view["referrals"] if r["agency_code"] in AGENCIES[area].values()} == {"requested"}


@pytest.mark.hazard("H01")
def test_the_matrix_covers_every_operation_of_every_service(system: RunningSystem) -> None:
    """A route added without a row in the matrix fails here: every operation gets every caller's status."""
    operations = set()
    for service in ("release_events", "handover", "notifier"):
        with system.client(service, None) as http:
            paths = http.get("/openapi.json").json()["paths"]
        operations |= {
            (service, method.upper(), path)
            for path, item in paths.items()
            for method in item
            if method in ("get", "put", "post", "delete", "patch")
        }
    assert operations == set(ROUTES.values()), {
        "not in the matrix": sorted(operations - set(ROUTES.values())),
        "no such operation": sorted(set(ROUTES.values()) - operations),
    }
    for area, rows in MATRIX.items():
        assert list(rows) == list(ROUTES), f"{area}: rows differ from ROUTES"


# --- writes that name a person follow custody -------------------------------------------------------------

WRITERS = ["prison-dmi", "prison-hhi", "prison-bmi"]  # the holding, the receiving and another establishment
ESTABLISHMENT_OF = {"prison-dmi": "DMI", "prison-hhi": "HHI", "prison-bmi": "BMI"}

# Expected status of each prison's write about a person held at DMI, each naming the writer's own
# establishment (a transfer: DMI -> HHI as the writer reports it, or from the writer's own establishment).
# Then the same person after DMI's transfer to HHI: the receiver now holds them and the sender does not.
CUSTODY_WRITES = {
    #                                   p-dmi p-hhi p-bmi
    "notice": (200, 409, 409),
    "amendment": (200, 404, 404),
    "reception": (202, 409, 409),
    "transfer DMI->HHI": (202, 403, 403),
    "transfer from own to DMI": (202, 409, 409),
    "release_date_changed": (202, 409, 409),
    "release_cancelled": (202, 409, 409),
    "released": (202, 409, 409),
    "recalled": (202, 409, 409),
    "after transfer: date changed": (409, 202, 409),
    "after transfer: notice": (409, 202, 409),
}


def custody_write(write: str, caller: str, person: str, sequence: int) -> tuple[str, dict[str, Any]]:
    """The path and body of ``caller``'s ``write`` about ``person`` (custody events at ``sequence``)."""
    own = ESTABLISHMENT_OF[caller]
    later = (date.today() + timedelta(days=20)).isoformat()
    kinds: dict[str, dict[str, Any]] = {
        "reception": {"kind": "reception", "reason": "readmission", "establishment_code": own},
        "transfer DMI->HHI": {"kind": "transfer", "establishment_code": "HHI", "from_establishment_code": "DMI"},
        "transfer from own to DMI": {
            "kind": "transfer",
            "establishment_code": "HHI" if own == "DMI" else "DMI",
            "from_establishment_code": own,
        },
        "release_date_changed": {"kind": "release_date_changed", "release_date": later, "establishment_code": own},
        "after transfer: date changed": {
            "kind": "release_date_changed",
            "release_date": later,
            "establishment_code": own,
        },
        "release_cancelled": {"kind": "release_cancelled", "establishment_code": own, "detail": "Further charges"},
        "released": {"kind": "released", "reason": "released", "establishment_code": own},
        "recalled": {"kind": "recalled", "establishment_code": own},
    }
    fields = dict(kinds[write])
    kind = fields.pop("kind")
    return "/v1/custody-events", custody_event(person, kind, sequence=sequence, **fields)


@pytest.mark.hazard("H31", "H32")
def test_every_write_that_names_a_person_follows_custody(system: RunningSystem, journeys: dict[str, Journey]) -> None:
    """Each prison (holding, receiving, another) tries every write about a person held at DMI: only the holder
    gets through; refusals store nothing. The person's notice and corrections use the Durham journey (its own
    notice again: a duplicate, nothing published); custody events a fresh person per kind, received at DMI."""
    durham = journeys["dmi"]
    got: dict[tuple[str, str], int] = {}

    def send(caller: str, path: str, body: dict[str, Any]) -> int:
        with system.client("release_events", caller) as http:
            response = http.post(path, json=body)
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
            assert durham.notice["prison_number"] not in response.json()["detail"]
        return response.status_code

    for caller in reversed(WRITERS):  # the holder last: its accepted writes must not decide the others'
        own_notice = {**durham.notice, "establishment_code": ESTABLISHMENT_OF[caller]}
        got[("notice", caller)] = send(caller, "/v1/release-notices", own_notice)
        got[("amendment", caller)] = send(
            caller, f"/v1/release-notices/{durham.notice_id}/amendments", {"notice": durham.notice}
        )

    people: dict[str, str] = {}
    for write in [w for w in CUSTODY_WRITES if w not in ("notice", "amendment") and not w.startswith("after")]:
        person = people[write] = prison_number(seeded_rng())
        path, body = custody_write("reception", "prison-dmi", person, 1)
        assert send("prison-dmi", path, body) == 202
        for sequence, caller in enumerate(reversed(WRITERS), start=2):
            path, body = custody_write(write, caller, person, sequence)
            got[(write, caller)] = send(caller, path, body)

    moved = people["transfer DMI->HHI"]  # DMI reported the transfer: HHI holds the person now
    for sequence, caller in enumerate(WRITERS, start=10):
        path, body = custody_write("after transfer: date changed", caller, moved, sequence)
        got[("after transfer: date changed", caller)] = send(caller, path, body)
    for caller in WRITERS:
        notice = {
            **release_notice(place="teesside"),
            "prison_number": moved,
            "establishment_code": ESTABLISHMENT_OF[caller],
        }
        got[("after transfer: notice", caller)] = send(caller, "/v1/release-notices", notice)

    expected = {
        (write, caller): CUSTODY_WRITES[write][WRITERS.index(caller)] for write in CUSTODY_WRITES for caller in WRITERS
    }
    wrong = {key: (got.get(key), status) for key, status in expected.items() if got.get(key) != status}
    assert not wrong, f"(write, caller): (got, expected) {wrong}"
    with system.client("release_events", "operator") as http:
        refusals = [
            record
            for person in people.values()
            for record in http.get("/v1/audit", params={"subject": person, "limit": 100}).json()
            if record["outcome"] == "refused"
        ]
    assert len(refusals) == sum(  # every refusal by custody is audited (the journey person's apart)
        1 for (write, _), status in expected.items() if status == 409 and write not in ("notice", "amendment")
    )


def test_confirming_reporting_instructions_needs_the_confirm_scope(
    system: RunningSystem, resources: dict[str, AreaResources]
) -> None:
    """A probation client whose credential lacks ``reporting:confirm`` may answer, but not confirm (403 before
    the ownership and the rules); with the scope, the same request reaches the rules (422, no instructions).
    """
    narrow = f"probation-narrow-{uuid.uuid4().hex[:6]}"
    key = credentials.create(
        system.stack.credentials_path,
        client_id=narrow,
        organisation="PDU-DUR",
        role=Role.PROBATION,
        scopes=[Scope.HANDOVERS_READ, Scope.ANSWERS_WRITE, Scope.DELIVERIES_READ],
    )
    path = ANSWERS.format(agency_code="PDU-DUR", referral_id=resources["dmi"].referrals["PDU-DUR"])
    confirm = {"answer": "confirmed"}  # without instructions, so that the rules refuse it and nothing changes
    base = system.stack.url("handover")
    refused = httpx.post(base + path, json=confirm, headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403, refused.text
    assert "reporting:confirm" in refused.json()["detail"]
    with system.client("handover", "probation-dur") as http:
        reached = http.post(path, json=confirm)
    assert reached.status_code == 422, reached.text
    assert [error["field"] for error in reached.json()["errors"]] == ["reporting_instructions"]


@pytest.mark.hazard("H02")
def test_agencies_see_only_the_sections_of_their_kind(system: RunningSystem, journeys: dict[str, Journey]) -> None:
    durham = journeys["dmi"]
    packs = {}
    for caller in ("gp-A99001", "cmht-dur", "probation-dur", "prison-dmi"):
        with system.client("handover", caller) as http:
            packs[caller] = http.get(f"/v1/handovers/{durham.handover_id}").json()["pack"]
    probation = json.dumps(packs["probation-dur"])
    for clinical in ("Sertraline", "Methadone", "Penicillin", "depressive", "crisis", "Withdraws"):
        assert clinical not in probation, f"probation sees clinical detail {clinical!r}"
    assert "mental_health" not in packs["probation-dur"] and "medications" not in packs["probation-dur"]
    assert packs["probation-dur"]["risk_flags"] == ["self_harm", "suicide"]
    assert "mental_health" not in packs["gp-A99001"] and packs["gp-A99001"]["mental_health_summary"]
    gp = json.dumps(packs["gp-A99001"])
    assert "crisis_plan" not in gp and "early_warning_signs" not in gp
    assert packs["cmht-dur"]["mental_health"] == packs["prison-dmi"]["mental_health"]
    assert packs["gp-A99001"]["medications"] == packs["prison-dmi"]["medications"]


@pytest.mark.hazard("H06")
def test_a_revoked_key_stops_working_at_once_and_a_rotated_one_keeps_its_overlap(
    system: RunningSystem,
) -> None:
    store = str(system.stack.credentials_path)
    ttg = [sys.executable, "-m", "ttg.cli"]

    def cli(*args: str) -> str:
        done = subprocess.run([*ttg, *args, "--store", store], capture_output=True, text=True, cwd=ROOT, check=True)
        return done.stdout.strip()

    client_id = f"rotating-{uuid.uuid4().hex[:6]}"
    first = json.loads(
        cli(
            "credentials",
            "create",
            "--client-id",
            client_id,
            "--organisation",
            "TTG-OPS",
            "--role",
            "operator",
            "--json",
        )
    )["api_key"]
    audit_url = system.stack.url("release_events") + "/v1/audit"

    def status(key: str) -> int:
        return httpx.get(audit_url, headers={"Authorization": f"Bearer {key}"}, params={"limit": 1}).status_code

    assert status(first) == 200
    second = json.loads(cli("credentials", "rotate", "--client-id", client_id, "--overlap-hours", "1", "--json"))[
        "api_key"
    ]
    assert (status(first), status(second)) == (200, 200)
    listed = cli("credentials", "list")
    split = split_key(first)  # the secret is URL-safe base64 and may itself hold "_"
    assert split is not None
    assert first not in listed and second not in listed and split[1] not in listed
    cli("credentials", "revoke", "--client-id", client_id)
    assert (status(first), status(second)) == (401, 401)


@pytest.mark.hazard("H16")
def test_a_prison_cannot_replay_another_clients_idempotency_key(system: RunningSystem) -> None:
    key = str(uuid.uuid4())
    with system.client("release_events", "prison-dmi") as http:
        first = http.post("/v1/release-notices", json=release_notice(place="durham"), headers={"Idempotency-Key": key})
    with system.client("release_events", "prison-bmi") as http:
        other = http.post(
            "/v1/release-notices", json=release_notice(place="birmingham"), headers={"Idempotency-Key": key}
        )
    assert first.status_code == 202 and other.status_code == 202
    assert other.json()["notice_id"] != first.json()["notice_id"]
