"""Issue 6 acceptance: schemathesis against every service's OpenAPI finds zero 5xx, and every error is
``application/problem+json``. Runs on the real services, broker and databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.support.journeys import PROBLEM_JSON
from tests.support.system import RunningSystem
from ttg.synthetic import release_notice

pytestmark = pytest.mark.acceptance


# --- fuzzing -------------------------------------------------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("TTG_FUZZ_EXAMPLES", "40"))


# Each operation is fuzzed with a key that may call it, so that generated input reaches validation and the
# code behind it rather than stopping at 403 (unauthenticated and forbidden paths are fuzzed as well: the
# negative mode drops or mangles the Authorization header).
FUZZ_CLIENT = {"/v1/audit": "operator"}
FUZZ_PREFIX_CLIENT = {
    "/v1/directory": "operator",
    "/v1/dead-letters": "operator",
    "/v1/endpoints": "operator",
    "/v1/escalations": "operator",
    "/v1/referrals": "operator",
    "/v1/delivery-audit": "operator",
    "/v1/agencies": "agency-CMHT-DUR",
}


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


@pytest.mark.hazard("H14")
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
        too_big = http.post("/v1/release-notices", content=chunked(), headers={"content-type": "application/json"})
        nul = http.get("/v1/release-notices/abc%00def")
    for response, status in ((too_big, 413), (nul, 400)):
        assert response.status_code == status
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["x-correlation-id"]
