"""Outgoing events of handover: each is staged in the outbox in the transaction of the change it reports."""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import CloudEvent, EventType, new_event
from services.common.clock import Clock
from services.common.outbox import add_to_outbox
from services.common.topics import HANDOVER_EVENTS


def publish(
    session: AsyncSession,
    *,
    type: EventType,
    schema: str,
    data: BaseModel,
    subject: str,
    source: str,
    correlation_id: str | None,
    clock: Clock,
) -> CloudEvent:
    event = new_event(
        type=type,
        source=source,
        subject=subject,
        dataschema=schema,
        data=data,
        correlation_id=correlation_id,
        time=clock.now(),
    )
    add_to_outbox(session, topic=HANDOVER_EVENTS, event=event, clock=clock)
    return event
