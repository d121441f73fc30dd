"""An operator pauses, resumes and re-enables endpoints; every change is audited with its state before."""

from __future__ import annotations

from services.notifier.domain.states import EndpointStatus
from services.notifier.usecases.endpoint_control import set_endpoint_status
from tests.unit.notifier.usecases.conftest import T0
from tests.unit.notifier.usecases.fakes import FakeNotifierUow


async def test_pause_then_resume_then_enable_after_410(uow: FakeNotifierUow) -> None:
    assert await set_endpoint_status(uow=uow, agency_code="A", actor="op", now=T0, pause=True) == EndpointStatus.PAUSED
    assert uow.endpoints.states["A"].reason == "paused by an operator"
    uow.endpoints.states["A"].failing_since = T0
    assert await set_endpoint_status(uow=uow, agency_code="A", actor="op", now=T0) == EndpointStatus.ACTIVE
    assert uow.endpoints.states["A"].failing_since is None, "a resumed endpoint starts afresh"
    uow.endpoints.states["A"].status = EndpointStatus.DISABLED
    await set_endpoint_status(uow=uow, agency_code="A", actor="op", now=T0)
    assert [row.action for row in uow.delivery_audit.rows] == [
        "endpoint_paused",
        "endpoint_resumed",
        "endpoint_enabled",
    ]
    assert uow.delivery_audit.rows[2].detail == "was disabled"
