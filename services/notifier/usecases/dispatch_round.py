"""A dispatch round: claim what is due, and record how a round ended in ONE unit of work (its attempts, where
the delivery now stands, the endpoint's state and pause, the referral watch, the outcome event and the audit),
as :func:`services.notifier.domain.verdict.judge_round` decides it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from contracts.delivery import DELIVERY_OUTCOME_SCHEMA, DeliveryOutcomeV1
from contracts.envelope import CloudEvent, EventType, new_event
from services.common.audit import AuditEntry
from services.common.topics import DELIVERY_EVENTS
from services.notifier.adapters.tables import Delivery
from services.notifier.domain.agencies import Agency, Directory
from services.notifier.domain.states import DeliveryStatus
from services.notifier.domain.verdict import AttemptResult, EndpointView, RetryPolicy, RoundVerdict, judge_round
from services.notifier.usecases.actions import NOTIFIER, record_action
from services.notifier.usecases.endpoint_health import apply_effect, pause_failing_endpoint
from services.notifier.usecases.ports import NotifierUow
from services.notifier.usecases.watches import watch_if_referral

OUTCOME_EVENT_TYPES = {
    DeliveryStatus.DELIVERED: EventType.DELIVERY_SUCCEEDED,
    DeliveryStatus.FAILED: EventType.DELIVERY_FAILED,
    DeliveryStatus.DEAD_LETTERED: EventType.DELIVERY_DEAD_LETTERED,
}
Attempts = Sequence[tuple[datetime, AttemptResult]]


class LeaseLost(Exception):
    """The delivery is no longer pending under the lease the round's claim set: the round was recorded already
    (a batch whose COMMIT succeeded but reported an error, recorded again alone), or its lease ran out and another
    replica claimed it. Raised out of the round's unit of work so that it is rolled back whole (no attempts,
    outcome event or audit record twice, and nothing written over the other replica's result)."""

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"delivery {webhook_id} is no longer leased to this round")
        self.webhook_id = webhook_id


async def claim_due(
    *,
    uow: NotifierUow,
    now: datetime,
    limit: int,
    lease_seconds: float,
    held: Collection[str] = (),
    capacity: Mapping[str, int] | None = None,
) -> list[Delivery]:
    """Reserve due deliveries for this sender (a lease, so replicas never send the same one at once).

    A delivery waits while an earlier one about the same person to the same agency is not yet delivered, so that
    each agency receives a person's messages in order and never an amendment or withdrawal of a pack it does not
    have (``HOLDING``). Deliveries to ``held`` agencies (slots full, circuit open, paused in the directory) and to
    paused endpoints stay where they are, so a slow or dead endpoint never takes the places of others."""
    async with uow:
        lease_until = now + timedelta(seconds=lease_seconds)
        return await uow.deliveries.claim_due(
            now=now, limit=limit, lease_until=lease_until, held=held, capacity=capacity
        )


async def claim_round(
    *,
    uow: NotifierUow,
    now: datetime,
    limit: int,
    lease_seconds: float,
    held: Collection[str] = (),
    capacity: Mapping[str, int] | None = None,
    sending: Collection[int] = (),
) -> tuple[dict[str, EndpointView], list[Delivery]]:
    """Every endpoint's state (what the round's refusals are judged on) and the deliveries claimed as
    :func:`claim_due` claims them, in one unit of work: one turn of the database per round, not two."""
    async with uow:
        states = {
            code: EndpointView(state.status, state.failing_since, state.reason)
            for code, state in (await uow.endpoints.all()).items()
        }
        lease_until = now + timedelta(seconds=lease_seconds)
        claimed = await uow.deliveries.claim_due(
            now=now, limit=limit, lease_until=lease_until, held=held, capacity=capacity, sending=sending
        )
    return states, claimed


async def record_round(
    *,
    uow: NotifierUow,
    delivery: Delivery,
    agency: Agency | None,
    directory: Directory,
    attempts: Attempts,
    retry_after: float | None,
    policy: RetryPolicy,
    now: datetime,
    source: str,
    refused: str | None = None,
) -> RoundVerdict:
    """Decide how the round ended and record all of it in one unit of work.

    Raises :class:`LeaseLost`, with nothing recorded, when the delivery is no longer pending under the lease
    ``delivery`` (as claimed) carries."""
    async with uow:
        verdict = judge_round(
            last=attempts[-1][1] if attempts else None,
            retry_after=retry_after,
            rounds_made=delivery.rounds,
            endpoint=await uow.endpoints.view(delivery.agency_code),
            policy=policy,
            now=now,
            refused=refused,
        )
        await _record(uow, delivery=delivery, agency=agency, attempts=attempts, verdict=verdict, now=now, source=source)
        if verdict.pause_endpoint:
            await pause_failing_endpoint(
                uow,
                agency_code=delivery.agency_code,
                directory=directory,
                now=now,
                source=source,
                event_id=str(uuid.uuid4()),
            )
    return verdict


async def _record(
    uow: NotifierUow,
    *,
    delivery: Delivery,
    agency: Agency | None,
    attempts: Attempts,
    verdict: RoundVerdict,
    now: datetime,
    source: str,
) -> None:
    assert delivery.seq is not None, "a claimed delivery has its sequence number"
    assert delivery.lease_expires_at is not None, "a claimed delivery carries the lease its claim set"
    total = delivery.attempt_count + len(attempts)
    concluded = await uow.deliveries.conclude_round(
        delivery.seq,
        leased_until=delivery.lease_expires_at,
        status=verdict.status,
        attempt_count=total,
        rounds=delivery.rounds + 1 if attempts else delivery.rounds,
        next_attempt_at=verdict.next_attempt_at,
        reason=verdict.reason,
        finished_at=now if verdict.finished else None,
    )
    if not concluded:
        raise LeaseLost(delivery.webhook_id)
    uow.deliveries.add_attempts(delivery.seq, attempts)
    if verdict.endpoint is not None:
        await apply_effect(
            uow, agency_code=delivery.agency_code, effect=verdict.endpoint, now=now, webhook_id=delivery.webhook_id
        )
    if verdict.status == DeliveryStatus.DELIVERED and agency is not None:
        await watch_if_referral(uow, delivery=delivery, agency_kind=agency.kind.value, now=now)
    if not verdict.finished:
        return
    if delivery.replays:
        await record_action(
            uow,
            action=f"replay_{verdict.status.value}",
            actor=NOTIFIER,
            now=now,
            agency_code=delivery.agency_code,
            webhook_id=delivery.webhook_id,
            handover_id=delivery.handover_id,
            detail=verdict.reason,
            subject=delivery.subject,
        )
    uow.outbox.add(topic=DELIVERY_EVENTS, event=outcome_event(delivery, verdict, source, now, total))
    await uow.audit.record(
        AuditEntry.system(
            NOTIFIER,
            action="delivery.finished",
            resource_type="delivery",
            resource_id=delivery.webhook_id,
            subject=delivery.subject,
            outcome=verdict.status.value,
            correlation_id=delivery.correlation_id,
            details={
                "agency_code": delivery.agency_code,
                "handover_id": delivery.handover_id,
                "event_type": delivery.event_type,
                "attempts": total,
                "reason": verdict.reason,
            },
        )
    )


def outcome_event(delivery: Delivery, verdict: RoundVerdict, source: str, now: datetime, attempts: int) -> CloudEvent:
    return new_event(
        type=OUTCOME_EVENT_TYPES[verdict.status],
        source=source,
        subject=delivery.subject,
        dataschema=DELIVERY_OUTCOME_SCHEMA,
        data=DeliveryOutcomeV1(
            webhook_id=delivery.webhook_id,
            source_event_id=delivery.source_event_id,
            event_type=delivery.event_type,
            handover_id=delivery.handover_id,
            agency_code=delivery.agency_code,
            status=verdict.status.value,
            attempts=attempts,
            reason=verdict.reason,
            replays=delivery.replays,
        ),
        correlation_id=delivery.correlation_id,
        time=now,
    )
