"""What a round does to its endpoint: success clears the run of failures, failure starts it, 410 disables once."""

from __future__ import annotations

from datetime import timedelta

from services.notifier.domain.states import EndpointEffect, EndpointStatus
from services.notifier.usecases.endpoint_health import apply_effect
from tests.unit.notifier.usecases.conftest import T0
from tests.unit.notifier.usecases.fakes import FakeNotifierUow


async def test_failures_keep_their_start_a_success_clears_it_and_gone_disables_once(uow: FakeNotifierUow) -> None:
    later = T0 + timedelta(minutes=5)
    await apply_effect(uow, agency_code="A", effect=EndpointEffect.FAILURE, now=T0, webhook_id="msg_1")
    await apply_effect(uow, agency_code="A", effect=EndpointEffect.FAILURE, now=later, webhook_id="msg_1")
    assert uow.endpoints.states["A"].failing_since == T0
    await apply_effect(uow, agency_code="A", effect=EndpointEffect.SUCCESS, now=later, webhook_id="msg_1")
    state = uow.endpoints.states["A"]
    assert (state.failing_since, state.last_success_at) == (None, later)
    for _ in range(2):
        await apply_effect(uow, agency_code="A", effect=EndpointEffect.GONE, now=later, webhook_id="msg_2")
    assert state.status == EndpointStatus.DISABLED
    assert [(row.action, row.webhook_id) for row in uow.delivery_audit.rows] == [("endpoint_disabled", "msg_2")]
