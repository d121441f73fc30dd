"""Acting on behalf of a person: a valid assertion becomes that person with their organisation's rules;
forged, edited, expired, replayed-with-another-key assertions and non-console callers are refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from services.common import auth, credentials, delegation
from services.common.auth import HandoverReader, NoticeSubmitter
from services.common.delegation import DelegationRefused, Person
from services.common.problems import install_problem_handlers
from services.common.roles import Role
from services.common.settings import ServiceSettings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NURSE = Person("nurse.dmi", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "credentials.json"


@pytest.fixture
def keys(store: Path) -> dict[str, str]:
    return {
        "console": credentials.create(store, client_id="console", organisation="TTG-CONSOLE", role=Role.CONSOLE),
        "other-console": credentials.create(store, client_id="console2", organisation="TTG", role=Role.CONSOLE),
        "gp": credentials.create(store, client_id="gp", organisation="A99001", role=Role.AGENCY),
    }


def credential(store: Path, client_id: str) -> credentials.Credential:
    found = credentials.read_store(store).by_client(client_id)
    assert found is not None
    return found


def tamper(assertion: str, **changes: object) -> str:
    payload, signature = assertion.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{edited}.{signature}"


def test_a_signed_assertion_names_the_person(store: Path, keys: dict[str, str]) -> None:
    assertion = delegation.sign(NURSE, api_key=keys["console"], now=NOW)
    person = delegation.verify(
        assertion,
        credential=credential(store, "console"),
        presented_key=keys["console"],
        now=NOW + timedelta(seconds=5),
    )
    assert person == NURSE


@pytest.mark.hazard("H63")
@pytest.mark.parametrize(
    "change",
    [
        {"role": "operator", "est": []},
        {"est": ["DMI", "BMI"]},
        {"org": "BMI-HC"},
        {"sub": "someone.else"},
        {"exp": int((NOW + timedelta(days=1)).timestamp())},
    ],
)
def test_an_edited_assertion_is_refused(store: Path, keys: dict[str, str], change: dict[str, object]) -> None:
    forged = tamper(delegation.sign(NURSE, api_key=keys["console"], now=NOW), **change)
    with pytest.raises(DelegationRefused, match="bad signature"):
        delegation.verify(forged, credential=credential(store, "console"), presented_key=keys["console"], now=NOW)


@pytest.mark.hazard("H63")
def test_an_expired_or_long_lived_assertion_is_refused(store: Path, keys: dict[str, str]) -> None:
    console = credential(store, "console")
    old = delegation.sign(NURSE, api_key=keys["console"], now=NOW)
    with pytest.raises(DelegationRefused, match="expired"):
        delegation.verify(old, credential=console, presented_key=keys["console"], now=NOW + timedelta(minutes=2))
    long_lived = delegation.sign(NURSE, api_key=keys["console"], now=NOW, lifetime=timedelta(hours=1))
    with pytest.raises(DelegationRefused, match="expired"):
        delegation.verify(long_lived, credential=console, presented_key=keys["console"], now=NOW)


def test_an_assertion_is_bound_to_the_key_that_made_it(store: Path, keys: dict[str, str]) -> None:
    assertion = delegation.sign(NURSE, api_key=keys["console"], now=NOW)
    with pytest.raises(DelegationRefused):
        delegation.verify(
            assertion, credential=credential(store, "console2"), presented_key=keys["other-console"], now=NOW
        )


def test_a_client_without_the_scope_may_not_delegate(store: Path, keys: dict[str, str]) -> None:
    assertion = delegation.sign(NURSE, api_key=keys["console"], now=NOW)
    with pytest.raises(DelegationRefused) as refused:
        delegation.verify(assertion, credential=credential(store, "gp"), presented_key=keys["gp"], now=NOW)
    assert refused.value.forbidden


@pytest.mark.parametrize(
    "person",
    [
        Person("x", "DMI-HC", Role.CONSOLE),
        Person("x", "A99001", Role.AGENCY, ("DMI",)),
        Person("x", "DMI-HC", Role.PRISON_HEALTHCARE),
        Person("Bad Name!", "A99001", Role.AGENCY),
        Person("x", "DMI-HC", Role.PRISON_HEALTHCARE, ("dmi1",)),
    ],
)
def test_a_person_no_api_key_could_be_is_refused(store: Path, keys: dict[str, str], person: Person) -> None:
    assertion = delegation.sign(person, api_key=keys["console"], now=NOW)
    with pytest.raises(DelegationRefused):
        delegation.verify(assertion, credential=credential(store, "console"), presented_key=keys["console"], now=NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "!!!.???", "e30.AAAA"])
def test_garbage_is_refused(store: Path, keys: dict[str, str], garbage: str) -> None:
    with pytest.raises(DelegationRefused):
        delegation.verify(garbage, credential=credential(store, "console"), presented_key=keys["console"], now=NOW)


# --- through the auth dependency of a real app -----------------------------------------------------------


@pytest.fixture
def client(store: Path, keys: dict[str, str]) -> TestClient:
    router = APIRouter()

    @router.get("/handovers")
    async def read(caller: HandoverReader) -> dict[str, object]:
        return {"client": caller.client_id, "organisation": caller.organisation, "person": caller.person}

    @router.post("/notices")
    async def submit(caller: NoticeSubmitter) -> dict[str, str]:
        auth.ensure_may_submit_for(caller, "BMI")
        return {}

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.settings = ServiceSettings(credentials_path=store)
    return TestClient(app)


def headers(key: str, assertion: str | None = None) -> dict[str, str]:
    found = {"Authorization": f"Bearer {key}"}
    if assertion is not None:
        found[delegation.HEADER] = assertion
    return found


@pytest.mark.hazard("H63")
def test_the_console_acts_as_the_person_with_their_organisations_rules(
    client: TestClient, keys: dict[str, str]
) -> None:
    assertion = delegation.sign(NURSE, api_key=keys["console"], now=datetime.now(UTC))
    read = client.get("/handovers", headers=headers(keys["console"], assertion))
    assert read.json() == {"client": "nurse.dmi@console", "organisation": "DMI-HC", "person": "nurse.dmi"}
    refused = client.post("/notices", headers=headers(keys["console"], assertion))  # not an establishment of theirs
    assert refused.status_code == 403
    assert client.get("/handovers", headers=headers(keys["console"])).status_code == 403  # alone it may nothing
    forged = tamper(assertion, est=["DMI", "BMI"])
    assert client.get("/handovers", headers=headers(keys["console"], forged)).status_code == 401
    assert client.get("/handovers", headers=headers(keys["gp"], assertion)).status_code == 403
