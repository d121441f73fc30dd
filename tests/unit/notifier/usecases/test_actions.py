"""Who did what: one row of the delivery-level view and one record of the hash-chained trail, by a system actor
or by the authenticated operator with role and organisation."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.roles import Role
from services.notifier.usecases.actions import NOTIFIER, record_action
from tests.unit.notifier.usecases.conftest import T0
from tests.unit.notifier.usecases.fakes import FakeNotifierUow


async def test_a_system_action_and_an_operators_action(uow: FakeNotifierUow) -> None:
    await record_action(uow, action="endpoint_paused", actor=NOTIFIER, now=T0, agency_code="A", detail="x" * 2000)
    operator = Principal(
        client_id="ops-1", organisation="NHSE", role=Role.OPERATOR, scopes=frozenset(), establishments=frozenset()
    )
    await record_action(uow, action="delivery_replayed", actor=operator, now=T0, webhook_id="msg_1", subject="A1234BC")
    assert [(row.action, row.actor) for row in uow.delivery_audit.rows] == [
        ("endpoint_paused", "notifier"),
        ("delivery_replayed", "ops-1"),
    ]
    assert len(uow.delivery_audit.rows[0].detail or "") == 1000
    system, by_operator = uow.audit.entries
    assert (system.actor, system.action, system.resource_type) == (
        "system:notifier",
        "notifier.endpoint_paused",
        "endpoint",
    )
    assert (by_operator.actor, by_operator.actor_role, by_operator.actor_organisation) == ("ops-1", "operator", "NHSE")
    assert (by_operator.resource_type, by_operator.resource_id, by_operator.subject) == ("delivery", "msg_1", "A1234BC")
