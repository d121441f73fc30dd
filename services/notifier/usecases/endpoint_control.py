"""An operator resumes a paused endpoint, enables one disabled by 410 Gone, or pauses one by hand; audited."""

from __future__ import annotations

from datetime import datetime

import structlog

from services.notifier.domain.states import EndpointStatus
from services.notifier.usecases.actions import Actor, record_action
from services.notifier.usecases.ports import NotifierUow

log = structlog.get_logger(__name__)


async def set_endpoint_status(
    *, uow: NotifierUow, agency_code: str, actor: Actor, now: datetime, pause: bool = False
) -> EndpointStatus:
    """Resume (or enable) the endpoint, or with ``pause`` pause it; returns where it now stands."""
    async with uow:
        state = await uow.endpoints.ensure(agency_code, now)
        before = state.status
        state.status = EndpointStatus.PAUSED if pause else EndpointStatus.ACTIVE
        state.reason = "paused by an operator" if pause else None
        state.changed_at = now
        if not pause:
            state.failing_since = None
        uow.endpoints.save(state)
        if pause:
            action = "endpoint_paused"
        else:
            action = "endpoint_enabled" if before == EndpointStatus.DISABLED else "endpoint_resumed"
        await record_action(uow, action=action, actor=actor, now=now, agency_code=agency_code, detail=f"was {before}")
    log.info("endpoint." + action.removeprefix("endpoint_"), agency=agency_code)
    return state.status
