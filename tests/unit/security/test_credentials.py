"""The credential store: keys verify, rotate with an overlap, revoke at once; it never holds a secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.common import credentials
from services.common.credentials import CredentialError
from services.common.roles import ROLE_SCOPES, Role, Scope

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make(path: Path, client_id: str = "dmi-hc", role: Role = Role.PRISON_HEALTHCARE, **kw: Any) -> str:
    establishments = kw.pop("establishments", ["DMI"] if role == Role.PRISON_HEALTHCARE else [])
    return credentials.create(
        path, client_id=client_id, organisation="ORG", role=role, establishments=establishments, now=NOW, **kw
    )


@pytest.mark.hazard("H07")
def test_a_created_key_verifies_and_the_store_holds_only_its_digest(tmp_path: Path) -> None:
    store = tmp_path / "credentials.json"
    key = make(store)
    found = credentials.verify(credentials.read_store(store), key, NOW)
    assert found is not None and found.client_id == "dmi-hc" and found.establishments == ["DMI"]
    secret = key.split("_", 2)[2]  # ttg_<key id>_<secret>; the secret itself may hold "_"
    assert secret not in store.read_text() and key not in store.read_text()
    assert oct(store.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "ttg_",
        "Bearer x",
        "ttg_0123456789abcdef_wrong",
        "ttg_zzzzzzzzzzzzzzzz_secret",
        "x" * 500,
    ],
)
def test_anything_but_the_exact_key_is_refused(tmp_path: Path, presented: str) -> None:
    store = tmp_path / "credentials.json"
    make(store)
    assert credentials.verify(credentials.read_store(store), presented, NOW) is None


@pytest.mark.hazard("H07")
def test_a_right_key_id_with_a_wrong_secret_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "credentials.json"
    key = make(store)
    assert credentials.verify(credentials.read_store(store), key[:-2] + "zz", NOW) is None


def test_rotation_keeps_the_old_key_for_the_overlap_only(tmp_path: Path) -> None:
    store = tmp_path / "credentials.json"
    old = make(store)
    new = credentials.rotate(store, client_id="dmi-hc", overlap=timedelta(hours=1), now=NOW)
    current = credentials.read_store(store)
    assert credentials.verify(current, old, NOW + timedelta(minutes=59)) is not None
    assert credentials.verify(current, new, NOW + timedelta(minutes=59)) is not None
    assert credentials.verify(current, old, NOW + timedelta(hours=1)) is None
    assert credentials.verify(current, new, NOW + timedelta(days=400)) is not None


def test_revocation_stops_every_key_of_the_client(tmp_path: Path) -> None:
    store = tmp_path / "credentials.json"
    old = make(store)
    new = credentials.rotate(store, client_id="dmi-hc", overlap=timedelta(hours=1), now=NOW)
    credentials.revoke(store, client_id="dmi-hc", now=NOW)
    current = credentials.read_store(store)
    assert credentials.verify(current, old, NOW) is None and credentials.verify(current, new, NOW) is None
    with pytest.raises(CredentialError):
        credentials.rotate(store, client_id="dmi-hc", overlap=timedelta(0), now=NOW)


def test_bindings_and_scopes_follow_the_role(tmp_path: Path) -> None:
    store = tmp_path / "credentials.json"
    with pytest.raises(CredentialError, match="establishment"):
        make(store, establishments=[])
    with pytest.raises(CredentialError, match="only prison"):
        make(store, "gp", Role.AGENCY, establishments=["DMI"])
    with pytest.raises(CredentialError, match="may not hold"):
        make(store, "gp", Role.AGENCY, scopes=[Scope.AUDIT_READ])
    with pytest.raises(ValueError):
        make(store, establishments=["dmi1"])
    make(store, "gp", Role.AGENCY, scopes=[Scope.HANDOVERS_READ])
    with pytest.raises(CredentialError, match="exists"):
        make(store, "gp", Role.AGENCY)
    narrowed = credentials.read_store(store).by_client("gp")
    assert narrowed is not None and narrowed.scopes == [Scope.HANDOVERS_READ]


@pytest.mark.hazard("H20")
def test_every_role_has_the_least_it_needs() -> None:
    scopes = ROLE_SCOPES
    assert Scope.HANDOVERS_READ not in scopes[Role.OPERATOR], "operators never read clinical packs"
    assert Scope.NOTICES_SUBMIT in scopes[Role.PRISON_HEALTHCARE]
    assert all(Scope.NOTICES_SUBMIT not in scopes[role] for role in (Role.AGENCY, Role.PROBATION, Role.OPERATOR))
    assert Scope.REPORTING_CONFIRM in scopes[Role.PROBATION] and Scope.REPORTING_CONFIRM not in scopes[Role.AGENCY]
    assert all(Scope.AUDIT_READ not in scopes[role] for role in Role if role != Role.OPERATOR)


@pytest.mark.hazard("H06")
def test_the_store_cache_sees_a_revocation_without_a_restart(tmp_path: Path) -> None:
    store = tmp_path / "credentials.json"
    key = make(store)
    cache = credentials.StoreCache(store)
    assert credentials.verify(cache.current(), key, NOW) is not None
    credentials.revoke(store, client_id="dmi-hc", now=NOW)
    assert credentials.verify(cache.current(), key, NOW) is None


def test_every_change_to_the_store_is_kept_in_its_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_OPERATOR", "ops-alice")
    store = tmp_path / "credentials.json"
    make(store)
    credentials.rotate(store, client_id="dmi-hc", overlap=timedelta(0), now=NOW)
    credentials.revoke(store, client_id="dmi-hc", now=NOW)
    history = credentials.read_store(store).history
    assert [(entry.action.split(" ")[0], entry.client_id, entry.by) for entry in history] == [
        ("created", "dmi-hc", "ops-alice"),
        ("rotated", "dmi-hc", "ops-alice"),
        ("revoked", "dmi-hc", "ops-alice"),
    ]
