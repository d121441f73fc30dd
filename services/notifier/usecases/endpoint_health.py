"""What a round does to its endpoint's state, inside the round's own unit of work.

- 410 Gone disables an endpoint: nothing more is sent to it (its pending deliveries fail, visibly) until an
  operator enables it again.
- An endpoint failing without one success for the pause period is paused: its deliveries are held (no round of
  their schedule is spent) until an operator resumes it; its owner (an event naming the directory's owner
  contact) and the healthcare teams of the prisons whose people are waiting (a webhook each) are told.

Their log lines are written once the round's transaction has committed (``uow.said``), not when its unit of work
ends: inside a batch of rounds that is only a savepoint, and the batch may still fail.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.delivery import ENDPOINT_PAUSED_SCHEMA, DeliveryEventType, EndpointPausedV1
from contracts.envelope import CloudEvent
from services.common.topics import DELIVERY_EVENTS
from services.notifier.domain.agencies import Directory
from services.notifier.domain.states import EndpointEffect
from services.notifier.usecases.actions import NOTIFIER, record_action
from services.notifier.usecases.new_deliveries import new_delivery
from services.notifier.usecases.ports import NotifierUow

GONE = "the endpoint answered 410 Gone"
FAILING = "failing for too long"


async def apply_effect(
    uow: NotifierUow, *, agency_code: str, effect: EndpointEffect, now: datetime, webhook_id: str
) -> None:
    if effect == EndpointEffect.SUCCESS:
        # Nearly always the endpoint has its state row: one UPDATE, and the row made only when it had none.
        if not await uow.endpoints.record_success(agency_code, now):
            await uow.endpoints.ensure(agency_code, now)
            await uow.endpoints.record_success(agency_code, now)
        return
    await uow.endpoints.ensure(agency_code, now)
    if effect == EndpointEffect.FAILURE:
        await uow.endpoints.record_failure(agency_code, now)
    elif await uow.endpoints.disable(agency_code, reason=GONE, now=now):
        await record_action(
            uow,
            action="endpoint_disabled",
            actor=NOTIFIER,
            now=now,
            agency_code=agency_code,
            webhook_id=webhook_id,
            detail="410 Gone",
        )
        uow.said.warning("endpoint.disabled", agency=agency_code, reason="410 Gone")


async def pause_failing_endpoint(
    uow: NotifierUow, *, agency_code: str, directory: Directory, now: datetime, source: str, event_id: str
) -> bool:
    """Pause an endpoint that has failed for too long and tell its owner and the prisons waiting on it (once:
    False when another replica paused it first)."""
    state = await uow.endpoints.pause_failing(agency_code, reason=FAILING, now=now)
    if state is None or state.failing_since is None:
        return False
    pending = await uow.deliveries.count_pending(agency_code)
    agency = directory.by_code(agency_code)
    told = await _tell_prisons(
        uow, agency_code=agency_code, directory=directory, failing_since=state.failing_since, now=now, event_id=event_id
    )
    paused = EndpointPausedV1(
        agency_code=agency_code,
        reason=FAILING,
        failing_since=state.failing_since,
        paused_at=now,
        owner_contact=agency.owner if agency else None,
        pending_deliveries=pending,
        establishments_told=sorted(told),
    )
    uow.outbox.add(
        topic=DELIVERY_EVENTS,
        event=CloudEvent(
            id=event_id,
            source=source,
            type=DeliveryEventType.ENDPOINT_PAUSED.value,
            time=now,
            subject=agency_code,
            partitionkey=agency_code,
            dataschema=ENDPOINT_PAUSED_SCHEMA,
            data=paused.model_dump(mode="json", exclude_none=True),
        ),
    )
    await record_action(
        uow,
        action="endpoint_paused",
        actor=NOTIFIER,
        now=now,
        agency_code=agency_code,
        detail=f"failing since {state.failing_since.isoformat()}; {pending} pending; told {sorted(told)}",
    )
    uow.said.warning("endpoint.paused", agency=agency_code, pending=pending, establishments_told=sorted(told))
    return True


async def _tell_prisons(
    uow: NotifierUow, *, agency_code: str, directory: Directory, failing_since: datetime, now: datetime, event_id: str
) -> set[str]:
    """A notice to the healthcare team of each prison whose people wait on the endpoint; the prisons told."""
    agency = directory.by_code(agency_code)
    told: set[str] = set()
    for establishment, subject, handover_id in await uow.deliveries.people_waiting_on(agency_code, failing_since):
        for contact in directory.prison_healthcare(establishment or ""):
            if contact.code == agency_code:
                continue
            told.add(establishment or "")
            notice = {
                "agency_code": agency_code,
                "agency_name": agency.name if agency else None,
                "handover_id": handover_id,
                "failing_since": failing_since.isoformat(),
                "paused_at": now.isoformat(),
            }
            uow.deliveries.add(
                new_delivery(
                    agency_code=contact.code,
                    webhook_type="endpoint.paused",
                    source_event_id=str(uuid.uuid5(uuid.UUID(event_id), handover_id)),
                    subject=subject,
                    handover_id=handover_id,
                    data=notice,
                    correlation_id=None,
                    now=now,
                )
            )
    return told
