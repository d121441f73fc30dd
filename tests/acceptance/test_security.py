"""Issue 6 acceptance: only the right people see the right care, and every access is on a record no one can
quietly change. Runs on the real services, broker and databases (SQLite and PostgreSQL), real HTTP.

* the authorisation matrix: every role x endpoint x (own or another organisation's resource), zero leaks;
* changing, deleting or reordering any one audit record is caught by ``ttg audit verify`` (the real CLI);
* the journey's logs hold none of the synthetic person's identifiers, nor any API key;
* schemathesis against every service's OpenAPI: zero 5xx, every error ``application/problem+json``.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from contracts.handover import HandoverPack
from services.common.db import sync_url
from services.handover.domain.disclosure import disclose
from tests.support.polling import eventually
from tests.support.system import RunningSystem
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"
DURHAM = {"A99001", "CMHT-DUR", "PDU-DUR"}
BIRMINGHAM = {"A99003", "CMHT-BHM", "PDU-BHM"}


def distinctive_person(place: str) -> dict[str, Any]:
    """A synthetic person whose names appear nowhere else, so a leak of them cannot hide among other text."""
    rng = random.Random()
    notice = release_notice(rng, place=place)
    tag = "".join(rng.choice(string.ascii_lowercase) for _ in range(6))
    notice["given_name"] = f"Quillon{tag}"
    notice["family_name"] = f"Vexmoor{tag}"
    notice["release"]["destination"]["address"]["lines"] = [f"{rng.randint(100, 999)} Nowhere Mews {tag}"]
    return notice


@dataclass
class Journey:
    notice: dict[str, Any]
    notice_id: str
    handover_id: str


def run_journey(system: RunningSystem, notice: dict[str, Any], client: str, recipients: set[str]) -> Journey:
    with system.client("release_events", client) as http:
        response = http.post(
            "/v1/release-notices", json=notice, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
    assert response.status_code == 202, response.text
    notice_id = response.json()["notice_id"]

    def handover() -> dict[str, Any] | None:
        with system.client("handover", client) as http:
            found = http.get("/v1/handovers", params={"notice_id": notice_id}).json()
        return found[0] if found else None

    handover_id = eventually(handover, what="the handover")["handover_id"]

    def delivered() -> bool | None:
        with system.client("notifier", client) as http:
            found = http.get("/v1/deliveries", params={"handover_id": handover_id}).json()
        return (
            True
            if {item["agency_code"] for item in found if item["status"] == "delivered"} == recipients
            else None
        )

    eventually(delivered, what="every delivery")
    return Journey(notice, notice_id, handover_id)


@pytest.fixture(scope="module")
def journeys(system: RunningSystem) -> dict[str, Journey]:
    """One release from Durham prison (DMI) and one from Birmingham (BMI), each delivered to its agencies."""
    return {
        "dmi": run_journey(system, distinctive_person("durham"), "prison-dmi", DURHAM),
        "bmi": run_journey(system, distinctive_person("birmingham"), "prison-bmi", BIRMINGHAM),
    }


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


def table(text: str) -> dict[str, dict[str, int]]:
    """Rows of ``endpoint: status per caller``, callers in the order of ``CALLERS``."""
    rows = {}
    for line in text.strip().splitlines():
        endpoint, _, statuses = line.partition(":")
        rows[endpoint.strip()] = dict(zip(CALLERS, map(int, statuses.split()), strict=True))
    return rows


# Expected status of each caller on each endpoint, for the resources of the Durham person (released from DMI,
# addressed to A99001, CMHT-DUR, PDU-DUR) and of the Birmingham person (BMI; A99003, CMHT-BHM, SMS-BHM).
# For each caller, one of the two is its own (or addressed to it) and the other another organisation's.
MATRIX: dict[str, dict[str, dict[str, int]]] = {
    #                     anon bad p-dmi p-bmi gp-dur cmht-dur pdu-dur gp-bhm cmht-bhm operator
    "dmi": table("""
        submit notice:        401 401 202 403 403 403 403 403 403 403
        notice status:        401 401 200 404 403 403 403 403 403 200
        handover:             401 401 200 404 200 200 200 404 404 403
        handovers of notice:  401 401 200 200 200 200 200 200 200 403
        deliveries:           401 401 200 200 200 200 200 200 200 200
        audit release_events: 401 401 403 403 403 403 403 403 403 200
        audit handover:       401 401 403 403 403 403 403 403 403 200
        audit notifier:       401 401 403 403 403 403 403 403 403 200
    """),
    "bmi": table("""
        submit notice:        401 401 403 202 403 403 403 403 403 403
        notice status:        401 401 404 200 403 403 403 403 403 200
        handover:             401 401 404 200 404 404 404 200 200 403
        handovers of notice:  401 401 200 200 200 200 200 200 200 403
        deliveries:           401 401 200 200 200 200 200 200 200 200
        audit release_events: 401 401 403 403 403 403 403 403 403 200
        audit handover:       401 401 403 403 403 403 403 403 403 200
        audit notifier:       401 401 403 403 403 403 403 403 403 200
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
KIND_OF = {
    "gp-A99001": "gp_practice",
    "gp-A99003": "gp_practice",
    "cmht-dur": "community_mental_health_team",
    "cmht-bhm": "community_mental_health_team",
    "probation-dur": "probation_delivery_unit",
}


def expected_sections(system: RunningSystem, journey: Journey, caller: str) -> set[str]:
    """The whole pack for prison healthcare; for an agency, the sections of its kind (data minimisation)."""
    prison = "prison-dmi" if journey.notice["establishment_code"] == "DMI" else "prison-bmi"
    with system.client("handover", prison) as http:
        whole = http.get(f"/v1/handovers/{journey.handover_id}").json()["pack"]
    if caller == prison:
        return set(whole)
    return set(disclose(HandoverPack.model_validate(whole), KIND_OF[caller]))


PLACE = {"dmi": "durham", "bmi": "birmingham"}


def call(system: RunningSystem, caller: str, endpoint: str, journey: Journey, area: str) -> httpx.Response:
    client = None if caller == "anonymous" else caller
    if caller == "bad-key":
        headers = {"Authorization": "Bearer ttg_0123456789abcdef_not-a-real-secret"}
        client = None
    else:
        headers = {}
    service, method, path, params, body = {
        "submit notice": (
            "release_events",
            "POST",
            "/v1/release-notices",
            None,
            release_notice(place=PLACE[area]),
        ),
        "notice status": ("release_events", "GET", f"/v1/release-notices/{journey.notice_id}", None, None),
        "handover": ("handover", "GET", f"/v1/handovers/{journey.handover_id}", None, None),
        "handovers of notice": ("handover", "GET", "/v1/handovers", {"notice_id": journey.notice_id}, None),
        "deliveries": ("notifier", "GET", "/v1/deliveries", {"handover_id": journey.handover_id}, None),
        "audit release_events": ("release_events", "GET", "/v1/audit", None, None),
        "audit handover": ("handover", "GET", "/v1/audit", None, None),
        "audit notifier": ("notifier", "GET", "/v1/audit", None, None),
    }[endpoint]
    with system.client(service, client) as http:
        return http.request(method, path, params=params, json=body, headers=headers)


def identifiers(notice: dict[str, Any]) -> list[str]:
    address = notice["release"]["destination"]["address"]
    return [
        notice["prison_number"],
        notice["nhs_number"],
        notice["given_name"],
        notice["family_name"],
        notice["date_of_birth"],
        *address["lines"],
        address["postcode"],
    ]


@pytest.mark.parametrize("area", ["dmi", "bmi"])
def test_every_role_on_every_endpoint_gets_the_expected_status_with_zero_leaks(
    system: RunningSystem, journeys: dict[str, Journey], area: str
) -> None:
    journey = journeys[area]
    expected = MATRIX[area]
    outcomes: dict[tuple[str, str], int] = {}
    for endpoint in expected:
        for caller in CALLERS:
            response = call(system, caller, endpoint, journey, area)
            outcomes[(endpoint, caller)] = response.status_code
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith(PROBLEM_JSON), (endpoint, caller)
                for value in identifiers(journey.notice):
                    assert value not in response.text, f"{endpoint} as {caller} leaks {value!r} in an error"
            if response.status_code == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
            if response.status_code != 200:
                continue
            found = response.json()
            if endpoint == "handover":
                sections = expected_sections(system, journey, caller)
                assert set(found["pack"]) == sections == set(found["sections"]), caller
                assert found["pack"]["patient_demographics"]["nhs_number"] == journey.notice["nhs_number"]
            if endpoint == "handovers of notice":
                visible = caller in VISIBLE_HANDOVERS[area]
                assert len(found) == (1 if visible else 0), f"{caller} sees {len(found)} handovers"
                assert all(set(item["pack"]) == expected_sections(system, journey, caller) for item in found)
                if not visible:
                    assert all(value not in response.text for value in identifiers(journey.notice))
            if endpoint == "deliveries":
                seen = {item["agency_code"] for item in found}
                assert seen == VISIBLE_DELIVERIES[area].get(caller, set()), caller
                assert all(value not in response.text for value in identifiers(journey.notice)[1:])
    wrong = {
        key: (status, expected[key[0]][key[1]])
        for key, status in outcomes.items()
        if status != expected[key[0]][key[1]]
    }
    assert not wrong, f"(endpoint, caller): (got, expected) {wrong}"


def test_agencies_see_only_the_sections_of_their_kind(
    system: RunningSystem, journeys: dict[str, Journey]
) -> None:
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


def test_a_revoked_key_stops_working_at_once_and_a_rotated_one_keeps_its_overlap(
    system: RunningSystem,
) -> None:
    store = str(system.stack.credentials_path)
    ttg = [sys.executable, "-m", "ttg.cli"]

    def cli(*args: str) -> str:
        done = subprocess.run(
            [*ttg, *args, "--store", store], capture_output=True, text=True, cwd=ROOT, check=True
        )
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
        return httpx.get(
            audit_url, headers={"Authorization": f"Bearer {key}"}, params={"limit": 1}
        ).status_code

    assert status(first) == 200
    second = json.loads(
        cli("credentials", "rotate", "--client-id", client_id, "--overlap-hours", "1", "--json")
    )["api_key"]
    assert (status(first), status(second)) == (200, 200)
    listed = cli("credentials", "list")
    assert first not in listed and second not in listed and first.rsplit("_", 1)[1] not in listed
    cli("credentials", "revoke", "--client-id", client_id)
    assert (status(first), status(second)) == (401, 401)


def test_a_prison_cannot_replay_another_clients_idempotency_key(system: RunningSystem) -> None:
    key = str(uuid.uuid4())
    with system.client("release_events", "prison-dmi") as http:
        first = http.post(
            "/v1/release-notices", json=release_notice(place="durham"), headers={"Idempotency-Key": key}
        )
    with system.client("release_events", "prison-bmi") as http:
        other = http.post(
            "/v1/release-notices", json=release_notice(place="birmingham"), headers={"Idempotency-Key": key}
        )
    assert first.status_code == 202 and other.status_code == 202
    assert other.json()["notice_id"] != first.json()["notice_id"]


# --- the audit trail -----------------------------------------------------------------------------------


def verify_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ttg.cli", "audit", "verify", "--database-url", database_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


class AuditTable:
    """Direct access to a service's audit table, as an attacker with database rights would have."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
        self.postgres = self.engine.dialect.name == "postgresql"

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [
                dict(row._mapping)
                for row in connection.execute(sa.text("SELECT * FROM audit_record ORDER BY seq"))
            ]

    def tamper(self, *statements: tuple[str, dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            if self.postgres:
                connection.execute(sa.text("ALTER TABLE audit_record DISABLE TRIGGER USER"))
            else:
                connection.execute(sa.text("DROP TRIGGER IF EXISTS audit_record_no_update"))
                connection.execute(sa.text("DROP TRIGGER IF EXISTS audit_record_no_delete"))
            for statement, params in statements:
                connection.execute(sa.text(statement), params)
            if self.postgres:
                connection.execute(sa.text("ALTER TABLE audit_record ENABLE TRIGGER USER"))
            else:
                for verb in ("UPDATE", "DELETE"):
                    connection.execute(
                        sa.text(
                            f"CREATE TRIGGER audit_record_no_{verb.lower()} BEFORE {verb} ON audit_record "
                            "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
                        )
                    )

    def restore(self, snapshot: list[dict[str, Any]]) -> None:
        columns = list(snapshot[0])
        insert = (
            f"INSERT INTO audit_record ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        )
        self.tamper(("DELETE FROM audit_record", {}), *[(insert, row) for row in snapshot])


def test_the_audit_trail_is_append_only_and_any_tampering_is_named_by_the_verify_cli(
    system: RunningSystem, journeys: dict[str, Journey]
) -> None:
    url = system.stack.database_url("release_events")
    with system.client("release_events", "prison-dmi") as http:  # a few more records of submissions and reads
        for _ in range(2):
            accepted = http.post("/v1/release-notices", json=release_notice(place="durham")).json()
            assert http.get(accepted["status_url"]).status_code == 200
    table = AuditTable(url)
    snapshot = table.rows()
    assert len(snapshot) >= 6
    actions = {row["action"] for row in snapshot}
    assert {"notice.submitted", "notice.read"} <= actions
    intact = verify_cli(url)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert f"intact: {len(snapshot)} records" in intact.stdout

    with pytest.raises(sa.exc.DBAPIError), table.engine.begin() as connection:  # the database refuses edits
        connection.execute(sa.text("UPDATE audit_record SET actor = 'someone-else' WHERE seq = 1"))
    with pytest.raises(sa.exc.DBAPIError), table.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_record WHERE seq = 1"))

    last = snapshot[-1]["seq"]
    middle = snapshot[len(snapshot) // 2]["seq"]
    tamperings: list[tuple[str, list[tuple[str, dict[str, Any]]], int]] = []
    for seq in (1, middle, last):
        tamperings.append(
            (
                f"change record {seq}",
                [("UPDATE audit_record SET actor = 'someone-else' WHERE seq = :seq", {"seq": seq})],
                seq,
            )
        )
        tamperings.append(
            (
                f"change the outcome of record {seq}",
                [("UPDATE audit_record SET outcome = 'denied' WHERE seq = :seq", {"seq": seq})],
                seq,
            )
        )
        tamperings.append(
            (f"delete record {seq}", [("DELETE FROM audit_record WHERE seq = :seq", {"seq": seq})], seq)
        )
    for first in (1, middle, last - 1):
        tamperings.append(
            (
                f"swap records {first} and {first + 1}",
                [
                    ("UPDATE audit_record SET seq = -1 WHERE seq = :a", {"a": first}),
                    ("UPDATE audit_record SET seq = :a WHERE seq = :b", {"a": first, "b": first + 1}),
                    ("UPDATE audit_record SET seq = :b WHERE seq = -1", {"b": first + 1}),
                ],
                first,
            )
        )
    for what, statements, seq in tamperings:
        table.tamper(*statements)
        try:
            broken = verify_cli(url)
            assert broken.returncode == 1, f"{what}: not detected\n{broken.stdout}{broken.stderr}"
            assert f"broken at record {seq}:" in broken.stdout, f"{what}: {broken.stdout}"
        finally:
            table.restore(snapshot)
    restored = verify_cli(url)
    assert restored.returncode == 0, restored.stdout


def test_reads_are_audited_with_who_when_and_which_sections(
    system: RunningSystem, journeys: dict[str, Journey]
) -> None:
    durham = journeys["dmi"]
    with system.client("handover", "probation-dur") as http:
        assert http.get(f"/v1/handovers/{durham.handover_id}").status_code == 200
    with system.client("handover", "gp-A99003") as http:
        assert http.get(f"/v1/handovers/{durham.handover_id}").status_code == 404
    with system.client("handover", "operator") as http:
        records = http.get(
            "/v1/audit", params={"subject": durham.notice["prison_number"], "limit": 1000}
        ).json()
    reads = [r for r in records if r["action"] == "handover.read" and r["actor"] == "probation-dur"]
    assert reads and set(reads[-1]["details"]["sections"]) == expected_sections(system, durham, "probation-dur")
    assert reads[-1]["resource_id"] == durham.handover_id and reads[-1]["at"]
    denied = [r for r in records if r["action"] == "handover.read_denied" and r["actor"] == "gp-A99003"]
    assert denied and denied[-1]["outcome"] == "denied"
    with system.client("notifier", "operator") as http:
        finished = http.get("/v1/audit", params={"subject": durham.notice["prison_number"]}).json()
    assert {r["details"]["agency_code"] for r in finished if r["action"] == "delivery.finished"} == DURHAM


def test_a_subject_access_export_gathers_everything_held_about_one_person(
    system: RunningSystem, journeys: dict[str, Journey], tmp_path: Path
) -> None:
    durham = journeys["dmi"]
    out = tmp_path / "sar.json"
    urls = [
        f"--database-url={name}={system.stack.database_url(name)}"
        for name in ("release_events", "handover", "notifier")
    ]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ttg.cli",
            "subject-access",
            "export",
            *urls,
            "--operator",
            "dpo-test",
            "--nhs-number",
            durham.notice["nhs_number"],
            "--out",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    export = json.loads(out.read_text())
    assert export["prison_numbers"] == [durham.notice["prison_number"]]
    services = export["services"]
    assert [n["id"] for n in services["release_events"]["release_notices"]] == [durham.notice_id]
    assert [h["id"] for h in services["handover"]["handovers"]] == [durham.handover_id]
    assert {d["agency_code"] for d in services["notifier"]["deliveries"]} == DURHAM
    assert services["handover"]["audit_records"] and services["notifier"]["audit_records"]
    assert journeys["bmi"].notice["prison_number"] not in out.read_text()
    for name in ("release_events", "handover", "notifier"):
        assert verify_cli(system.stack.database_url(name)).returncode == 0


# --- logs ----------------------------------------------------------------------------------------------


def test_the_journeys_logs_hold_no_identifier_of_the_person_and_no_key(
    system: RunningSystem, journeys: dict[str, Journey]
) -> None:
    durham = journeys["dmi"]
    # Also the paths where input is echoed back: a notice with a bad NHS number and an unknown field.
    bad = dict(
        durham.notice, nhs_number=durham.notice["nhs_number"][:9] + "x", nickname=durham.notice["given_name"]
    )
    with system.client("release_events", "prison-dmi") as http:
        assert http.post("/v1/release-notices", json=bad).status_code == 422
    logs = sorted((system.stack.config.data_dir / "logs").glob("*.log"))
    assert {path.stem for path in logs} >= {"release_events", "handover", "notifier"}
    text = {path.name: path.read_text(errors="replace") for path in logs}
    assert "handover.pack_issued" in text["handover.log"]  # the logs are the journey's, not empty
    postcode = durham.notice["release"]["destination"]["address"]["postcode"]
    secrets = [*system.api_keys.values(), *system.secrets.values()]
    forbidden = [*identifiers(durham.notice), postcode.replace(" ", ""), *secrets]
    leaks = [(name, value) for name, content in text.items() for value in forbidden if value in content]
    assert not leaks, f"personal data or keys in logs: {leaks}"


# --- fuzzing -------------------------------------------------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("TTG_FUZZ_EXAMPLES", "40"))


# Each operation is fuzzed with a key that may call it, so that generated input reaches validation and the
# code behind it rather than stopping at 403 (unauthenticated and forbidden paths are fuzzed as well: the
# negative mode drops or mangles the Authorization header).
FUZZ_CLIENT = {"/v1/audit": "operator"}
FUZZ_PREFIX_CLIENT = {"/v1/directory": "operator", "/v1/dead-letters": "operator", "/v1/endpoints": "operator",
                      "/v1/agencies": "agency-CMHT-DUR"}


def fuzz_client(path: str) -> str:
    """A client that may call ``path``, so generated input gets past authorisation to the code behind it."""
    if path in FUZZ_CLIENT:
        return FUZZ_CLIENT[path]
    return next((client for prefix, client in FUZZ_PREFIX_CLIENT.items() if path.startswith(prefix)), "prison-all")


def check_response(case: Any, response: Any, failures: list[str]) -> int:
    label = f"{case.method} {case.formatted_path} -> {response.status_code}"
    if response.status_code >= 500:
        failures.append(f"{label}: {response.text[:200]}")
    elif response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        if not content_type.startswith(PROBLEM_JSON):
            failures.append(f"{label}: content-type {content_type}")
    return int(response.status_code)


@pytest.mark.parametrize("service", ["release_events", "handover", "notifier"])
def test_schemathesis_finds_no_server_error_and_every_error_is_problem_json(
    system: RunningSystem, service: str
) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    base = system.stack.url(service)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} >= {"/v1/audit"}
    for operation in operations:
        key = system.api_keys[fuzz_client(operation.path)]
        headers = {"Authorization": f"Bearer {key}"}
        if (operation.method.upper(), operation.path) == ("POST", "/v1/release-notices"):
            # a few valid notices too, so the happy path is fuzzed as well
            for place in ("durham", "teesside", "birmingham"):
                case = operation.Case(body=release_notice(place=place), media_type="application/json")
                statuses.append(check_response(case, case.call(base_url=base, headers=headers), failures))
            assert statuses[-3:] == [202, 202, 202], failures
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def exercise(case: schemathesis.Case) -> None:
                response = case.call(base_url=base, headers=headers)  # noqa: B023 - run in this iteration
                statuses.append(check_response(case, response, failures))

            exercise()
    assert not failures, "\n".join(failures[:20])
    assert len(statuses) >= len(operations) * FUZZ_EXAMPLES, "the fuzzer made fewer requests than asked"
    assert any(200 <= status < 300 for status in statuses), "no request got through: the fuzz tested nothing"


def test_hardening_answers_problem_json_with_a_correlation_id(system: RunningSystem) -> None:
    def chunked() -> Any:
        for _ in range(300):
            yield b"x" * 1024

    with system.client("release_events") as http:
        too_big = http.post(
            "/v1/release-notices", content=chunked(), headers={"content-type": "application/json"}
        )
        nul = http.get("/v1/release-notices/abc%00def")
    for response, status in ((too_big, 413), (nul, 400)):
        assert response.status_code == status
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["x-correlation-id"]
