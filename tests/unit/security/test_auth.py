"""The auth dependencies on a real FastAPI app: 401, 403, 429, problem details, and the ownership rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from services.common import auth, credentials
from services.common.auth import AuditReader, HandoverReader, NoticeSubmitter, Principal
from services.common.problems import Problem, install_problem_handlers
from services.common.roles import ROLE_SCOPES, Role, Scope
from services.common.settings import ServiceSettings


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    store = tmp_path / "credentials.json"
    return {
        "prison": credentials.create(
            store,
            client_id="prison",
            organisation="DMI-HC",
            role=Role.PRISON_HEALTHCARE,
            establishments=["DMI"],
        ),
        "gp": credentials.create(store, client_id="gp", organisation="A99001", role=Role.AGENCY),
        "operator": credentials.create(store, client_id="operator", organisation="OPS", role=Role.OPERATOR),
        "narrow": credentials.create(
            store,
            client_id="narrow",
            organisation="DMI-HC",
            role=Role.PRISON_HEALTHCARE,
            establishments=["DMI"],
            scopes=[Scope.NOTICES_READ],
        ),
    }


@pytest.fixture
def client(tmp_path: Path, keys: dict[str, str]) -> TestClient:
    router = APIRouter()

    @router.get("/handovers")
    async def read(caller: HandoverReader) -> dict[str, str]:
        return {"client": caller.client_id}

    @router.post("/notices")
    async def submit(caller: NoticeSubmitter) -> dict[str, str]:
        auth.ensure_may_submit_for(caller, "BMI")
        return {}

    @router.get("/audit")
    async def audit(caller: AuditReader) -> dict[str, str]:
        return {"client": caller.client_id}

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.settings = ServiceSettings(
        credentials_path=tmp_path / "credentials.json", rate_limit_per_second=0.001, rate_limit_burst=5
    )
    return TestClient(app)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_no_key_or_a_wrong_one_is_401_with_a_challenge(client: TestClient) -> None:
    for headers in ({}, bearer("ttg_0123456789abcdef_nope"), {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.get("/handovers", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_role_without_the_scope_is_403(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/handovers", headers=bearer(keys["prison"])).json() == {"client": "prison"}
    assert client.get("/handovers", headers=bearer(keys["operator"])).status_code == 403
    assert client.get("/audit", headers=bearer(keys["operator"])).status_code == 200
    assert client.get("/audit", headers=bearer(keys["gp"])).status_code == 403
    assert client.get("/handovers", headers=bearer(keys["narrow"])).status_code == 403, "narrowed scopes hold"


@pytest.mark.hazard("H03")
def test_submitting_for_another_establishment_is_403_naming_the_field(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/notices", headers=bearer(keys["prison"]))
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "establishment_code"


@pytest.mark.hazard("H13")
def test_past_the_burst_a_client_gets_429_with_retry_after_and_others_do_not(
    client: TestClient, keys: dict[str, str]
) -> None:
    statuses = [client.get("/handovers", headers=bearer(keys["gp"])).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = client.get("/handovers", headers=bearer(keys["gp"]))
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["content-type"] == "application/problem+json"
    assert client.get("/handovers", headers=bearer(keys["prison"])).status_code == 200


def principal(role: Role, organisation: str = "X", establishments: tuple[str, ...] = ()) -> Principal:
    return Principal("c", organisation, role, ROLE_SCOPES[role], frozenset(establishments))


@pytest.mark.hazard("H01")
def test_ownership_rules_answer_404_for_another_organisations_resource() -> None:
    prison = principal(Role.PRISON_HEALTHCARE, establishments=("DMI",))
    auth.ensure_establishment(prison, "DMI")
    with pytest.raises(Problem) as raised:
        auth.ensure_establishment(prison, "BMI")
    assert raised.value.status == 404
    gp = principal(Role.AGENCY, "A99001")
    auth.ensure_addressee(gp, {"A99001", "CMHT-DUR"})
    for outsider, codes in (
        (gp, {"A99003"}),
        (prison, {"DMI"}),
        (principal(Role.OPERATOR, "A99001"), {"A99001"}),
    ):
        with pytest.raises(Problem) as raised:
            auth.ensure_addressee(outsider, codes)
        assert raised.value.status == 404
    auth.ensure_organisation(gp, "A99001")
    with pytest.raises(Problem):
        auth.ensure_organisation(gp, "A99003")
    assert not auth.acts_for_establishment(principal(Role.AGENCY, "DMI", ("DMI",)), "DMI")


def test_a_scope_needed_by_only_some_requests_of_a_route_is_403_without_it() -> None:
    auth.ensure_scope(principal(Role.PROBATION, "PDU-DUR"), Scope.REPORTING_CONFIRM)
    narrow = Principal("c", "PDU-DUR", Role.PROBATION, frozenset({Scope.ANSWERS_WRITE}), frozenset())
    for caller in (narrow, principal(Role.AGENCY, "A99001")):
        with pytest.raises(Problem) as raised:
            auth.ensure_scope(caller, Scope.REPORTING_CONFIRM)
        assert raised.value.status == 403


def test_unauthenticated_floods_are_limited_by_address_too(client: TestClient) -> None:
    statuses = [client.get("/handovers", headers=bearer("ttg_0123456789abcdef_guess")).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
