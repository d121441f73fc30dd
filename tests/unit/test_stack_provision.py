"""The demo and test clients ``ttg up`` provisions: a store kept from an earlier run is brought up to date."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.common import credentials
from services.common.roles import ROLE_SCOPES, Role, Scope
from ttg.stack import Client, provision

OPERATOR = Client("demo-operator", "TTG-OPS", Role.OPERATOR)


def test_a_kept_client_made_before_its_role_gained_a_scope_gets_every_scope_of_its_role(tmp_path: Path) -> None:
    store = tmp_path / "credentials.json"
    first = provision(store, [OPERATOR])[OPERATOR.client_id]
    with credentials.editing(store) as editing:  # as a store written before outbox:replay existed
        kept = editing.by_client(OPERATOR.client_id)
        assert kept is not None
        kept.scopes = [scope for scope in kept.scopes if scope is not Scope.OUTBOX_REPLAY]

    second = provision(store, [OPERATOR])[OPERATOR.client_id]

    assert second != first  # re-keyed, as on every start
    credential = credentials.verify(credentials.read_store(store), second, datetime.now(UTC))
    assert credential is not None
    assert set(credential.scopes) == ROLE_SCOPES[Role.OPERATOR]
    assert [entry.action for entry in credentials.read_store(store).history].count("rescoped") == 1
