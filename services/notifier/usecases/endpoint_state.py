"""The state of each agency's endpoint, kept in the database so that it holds across restarts and replicas.

- 410 Gone disables an endpoint: nothing more is sent to it (its pending deliveries fail, visibly) until an
  operator enables it again.
- An endpoint failing without one success for ``pause_after_failing_seconds`` is paused: its deliveries are
  held (no round of their schedule is spent) until an operator resumes it; its owner and the healthcare teams
  of the prisons whose people are waiting are told.
Every change is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy import and_, func, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.delivery import ENDPOINT_PAUSED_SCHEMA, DeliveryEventType, EndpointPausedV1
from contracts.envelope import CloudEvent
from services.common import audit as common_audit
from services.common.auth import Principal
from services.common.clock import Clock
from services.common.db import Database
from services.common.outbox import add_to_outbox
from services.common.topics import DELIVERY_EVENTS
from services.notifier.adapters.sql import insert_ignore
from services.notifier.adapters.tables import (
    Delivery,
    DeliveryAudit,
    DeliveryStatus,
    EndpointState,
    EndpointStatus,
    HandoverFact,
)
from services.notifier.domain.agencies import Directory
from services.notifier.usecases.notices import notice_delivery

log = structlog.get_logger(__name__)

NOTIFIER = "notifier"
# Who acted: an authenticated operator, or the name of a system actor.
Actor = Principal | str


class EndpointEffect(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    GONE = "gone"


async def _ensure(session: AsyncSession, agency_code: str, now: datetime) -> None:
    await insert_ignore(
        session, EndpointState, {"agency_code": agency_code, "status": EndpointStatus.ACTIVE.value, "changed_at": now}
    )


async def audit(
    session: AsyncSession,
    *,
    action: str,
    actor: Actor,
    now: datetime,
    agency_code: str | None = None,
    webhook_id: str | None = None,
    handover_id: str | None = None,
    detail: str | None = None,
    subject: str | None = None,
) -> None:
    """Record what was done to a delivery or an endpoint, in the same transaction as the change: a row of the
    delivery-level view (``delivery_audit``) and a record of the service's hash-chained audit trail.
    ``actor`` is the authenticated operator, or a name (``NOTIFIER`` for the notifier's own decisions)."""
    name = actor if isinstance(actor, str) else actor.client_id
    session.add(
        DeliveryAudit(
            at=now,
            action=action,
            actor=name,
            agency_code=agency_code,
            webhook_id=webhook_id,
            handover_id=handover_id,
            detail=detail[:1000] if detail else None,
        )
    )
    what = {
        "action": f"notifier.{action}",
        "resource_type": "delivery" if webhook_id else "endpoint",
        "resource_id": webhook_id or agency_code,
        "subject": subject,
        "details": {"agency_code": agency_code, "handover_id": handover_id, "detail": detail},
    }
    entry = (
        common_audit.AuditEntry.system(name, **what)
        if isinstance(actor, str)
        else common_audit.AuditEntry.by(actor, **what)
    )
    await common_audit.record(session, entry, now)


async def apply_effect(
    session: AsyncSession, *, agency_code: str, effect: EndpointEffect, now: datetime, webhook_id: str | None = None
) -> None:
    """What one round says about the endpoint, in the round's own transaction."""
    await _ensure(session, agency_code, now)
    where = col(EndpointState.agency_code) == agency_code
    if effect == EndpointEffect.SUCCESS:
        await session.exec(
            update(EndpointState)
            .where(where)
            .values(  # type: ignore[call-overload]
                failing_since=None, last_success_at=now
            )
        )
    elif effect == EndpointEffect.FAILURE:
        await session.exec(
            update(EndpointState)
            .where(where)
            .where(  # type: ignore[call-overload]
                col(EndpointState.failing_since).is_(None)
            )
            .values(failing_since=now)
        )
    else:
        changed = await session.exec(
            update(EndpointState)
            .where(where)
            .where(  # type: ignore[call-overload]
                EndpointState.status != EndpointStatus.DISABLED
            )
            .values(status=EndpointStatus.DISABLED, reason="the endpoint answered 410 Gone", changed_at=now)
        )
        if changed.rowcount:
            await audit(
                session,
                action="endpoint_disabled",
                actor=NOTIFIER,
                now=now,
                agency_code=agency_code,
                webhook_id=webhook_id,
                detail="410 Gone",
            )
            log.warning("endpoint.disabled", agency=agency_code, reason="410 Gone")


async def states(*, database: Database) -> dict[str, EndpointState]:
    async with database.session() as session:
        return {state.agency_code: state for state in (await session.exec(select(EndpointState))).all()}


async def pause_if_failing_too_long(
    *, database: Database, directory: Directory, clock: Clock, agency_code: str, after_seconds: float, source: str
) -> bool:
    """Pause an endpoint that has failed for too long; tell its owner and the prisons waiting on it (once)."""
    now = clock.now()
    async with database.transaction() as session:
        changed = await session.exec(  # type: ignore[call-overload]
            update(EndpointState)
            .where(col(EndpointState.agency_code) == agency_code)
            .where(EndpointState.status == EndpointStatus.ACTIVE)
            .where(col(EndpointState.failing_since).is_not(None))
            .where(col(EndpointState.failing_since) <= now - timedelta(seconds=after_seconds))
            .values(status=EndpointStatus.PAUSED, reason="failing for too long", changed_at=now)
        )
        if not changed.rowcount:
            return False
        state = await session.get(EndpointState, agency_code)
        assert state is not None and state.failing_since is not None
        pending = (
            await session.exec(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.agency_code == agency_code)
                .where(Delivery.status == DeliveryStatus.PENDING)
            )
        ).one()
        waiting = (
            await session.exec(
                select(HandoverFact.establishment_code, HandoverFact.subject, HandoverFact.handover_id)
                .join(Delivery, col(Delivery.handover_id) == col(HandoverFact.handover_id))
                .where(Delivery.agency_code == agency_code)
                .where(
                    or_(  # still waiting, or given up on while this run of failures lasted
                        Delivery.status == DeliveryStatus.PENDING,
                        and_(
                            Delivery.status == DeliveryStatus.DEAD_LETTERED,
                            col(Delivery.finished_at) >= state.failing_since,
                        ),
                    )
                )
                .distinct()
            )
        ).all()
        agency = directory.by_code(agency_code)
        event_id = str(uuid.uuid4())
        told: set[str] = set()
        for establishment, subject, handover_id in waiting:
            for contact in directory.prison_healthcare(establishment or ""):
                if contact.code == agency_code:
                    continue
                told.add(establishment or "")
                session.add(
                    notice_delivery(
                        agency=contact,
                        webhook_type="endpoint.paused",
                        source_event_id=str(uuid.uuid5(uuid.UUID(event_id), handover_id)),
                        subject=subject,
                        handover_id=handover_id,
                        data={
                            "agency_code": agency_code,
                            "agency_name": agency.name if agency else None,
                            "handover_id": handover_id,
                            "failing_since": state.failing_since.isoformat(),
                            "paused_at": now.isoformat(),
                        },
                        correlation_id=None,
                        now=now,
                    )
                )
        paused = EndpointPausedV1(
            agency_code=agency_code,
            reason="failing for too long",
            failing_since=state.failing_since,
            paused_at=now,
            owner_contact=agency.owner if agency else None,
            pending_deliveries=int(pending),
            establishments_told=sorted(told),
        )
        add_to_outbox(
            session,
            topic=DELIVERY_EVENTS,
            clock=clock,
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
        await audit(
            session,
            action="endpoint_paused",
            actor=NOTIFIER,
            now=now,
            agency_code=agency_code,
            detail=f"failing since {state.failing_since.isoformat()}; {pending} pending; told {sorted(told)}",
        )
    log.warning("endpoint.paused", agency=agency_code, pending=int(pending), establishments_told=sorted(told))
    return True


async def reactivate(*, database: Database, clock: Clock, agency_code: str, actor: Actor, pause: bool = False) -> str:
    """Resume a paused endpoint or enable a disabled one (or, with ``pause``, pause it by hand); audited."""
    now = clock.now()
    async with database.transaction() as session:
        await _ensure(session, agency_code, now)
        state = await session.get(EndpointState, agency_code)
        assert state is not None
        before = state.status
        target = EndpointStatus.PAUSED if pause else EndpointStatus.ACTIVE
        state.status = target
        state.reason = "paused by an operator" if pause else None
        state.changed_at = now
        if not pause:
            state.failing_since = None
        session.add(state)
        action = (
            "endpoint_paused"
            if pause
            else ("endpoint_enabled" if before == EndpointStatus.DISABLED else "endpoint_resumed")
        )
        await audit(session, action=action, actor=actor, now=now, agency_code=agency_code, detail=f"was {before}")
    log.info("endpoint." + action.removeprefix("endpoint_"), agency=agency_code)
    return target.value
