"""HTTP API of notifier: where each delivery stands (with its attempts), dead letters and their replay, endpoint
state (resume, pause), escalations, and the audit trail. Routes are thin: parse, call a use case, shape."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from services.common.audit import AuditEntry, append
from services.common.auth import DeadLetterAdmin, DeliveriesReader, Principal
from services.common.clock import Clock
from services.common.credentials import Role
from services.common.db import Database
from services.common.problems import Problem
from services.common.read_audit import audit_read
from services.notifier.adapters.tables import Delivery, DeliveryAttempt
from services.notifier.domain.access import may_see
from services.notifier.domain.agencies import Directory
from services.notifier.usecases import dead_letters
from services.notifier.usecases import deliveries as service
from services.notifier.usecases import endpoint_state as endpoints
from services.notifier.usecases import escalations as escalation

router = APIRouter(prefix="/v1")


def _database(request: Request) -> Database:
    return request.app.state.database  # type: ignore[no-any-return]


def _clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def _directory(request: Request) -> Directory:
    return request.app.state.directory  # type: ignore[no-any-return]


def _actor(caller: DeadLetterAdmin) -> Principal:
    """Who asked, for the audit trail: the authenticated operator (role and organisation included)."""
    return caller


DatabaseDep = Annotated[Database, Depends(_database)]
ClockDep = Annotated[Clock, Depends(_clock)]
DirectoryDep = Annotated[Directory, Depends(_directory)]
ActorDep = Annotated[Principal, Depends(_actor)]


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None = None


class DeliveryPublic(BaseModel):
    webhook_id: str
    agency_code: str
    event_type: str
    handover_id: str | None
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    replays: int = 0
    attempts: list[AttemptPublic] = Field(default_factory=list)


def _public(delivery: Delivery, attempts: list[DeliveryAttempt] | None = None) -> DeliveryPublic:
    return DeliveryPublic(
        **delivery.model_dump(include=set(DeliveryPublic.model_fields) - {"attempts"}),
        attempts=[
            AttemptPublic(**attempt.model_dump(include=set(AttemptPublic.model_fields))) for attempt in attempts or []
        ],
    )


async def _audit_read(request: Request, caller: Principal, deliveries: list[Delivery], resource_id: str) -> None:
    if deliveries:
        await append(
            request.app.state.database,
            AuditEntry.by(
                caller,
                action="deliveries.read",
                resource_type="handover",
                resource_id=resource_id,
                subject=deliveries[0].subject,
                details={"webhook_ids": [d.webhook_id for d in deliveries]},
                correlation_id=request.state.correlation_id,
            ),
            request.app.state.clock.now(),
        )


@router.get("/deliveries", response_model=list[DeliveryPublic])
async def list_deliveries(
    caller: DeliveriesReader, request: Request, database: DatabaseDep, handover_id: str = Query(max_length=36)
) -> list[DeliveryPublic]:
    """The deliveries made for a handover that the caller may see (an agency: its own), oldest first."""
    found = await service.deliveries_of(database=database, handover_id=handover_id)
    found = [(delivery, attempts) for delivery, attempts in found if may_see(caller, delivery)]
    await _audit_read(request, caller, [delivery for delivery, _ in found], handover_id)
    return [_public(delivery, attempts) for delivery, attempts in found]


@router.get("/deliveries/{webhook_id}", response_model=DeliveryPublic)
async def get_delivery(
    caller: DeliveriesReader, request: Request, database: DatabaseDep, webhook_id: Annotated[str, Path(max_length=64)]
) -> DeliveryPublic:
    found = await service.delivery_by_webhook_id(database=database, webhook_id=webhook_id)
    if found is None or not may_see(caller, found[0]):
        raise Problem(404, "Not found", f"No delivery has webhook id {webhook_id}.", "delivery-not-found")
    await _audit_read(request, caller, [found[0]], found[0].handover_id or webhook_id)
    return _public(*found)


@router.get("/dead-letters", response_model=list[DeliveryPublic])
async def list_dead_letters(
    caller: DeadLetterAdmin,
    request: Request,
    database: DatabaseDep,
    agency_code: Annotated[str | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[DeliveryPublic]:
    """Deliveries that did not arrive, oldest first: dead-lettered (schedule spent) or failed for good (a 4xx
    answer, 410 Gone, a disabled endpoint). Each can be replayed with its original webhook-id."""
    found = await dead_letters.list_dead_letters(database=database, agency_code=agency_code, since=since, limit=limit)
    await audit_read(request, caller, "dead_letters.read", "delivery", webhook_ids=[d.webhook_id for d in found])
    return [_public(delivery) for delivery in found]


class Replayed(BaseModel):
    replayed: list[str]


class ReplayRequest(BaseModel):
    agency_code: str = Field(min_length=1, max_length=20)
    since: datetime | None = Field(None, description="Only those dead-lettered at or after this time")


@router.post("/dead-letters/{webhook_id}/replay", response_model=Replayed, status_code=202)
async def replay_one(
    database: DatabaseDep, clock: ClockDep, actor: ActorDep, webhook_id: Annotated[str, Path(max_length=64)]
) -> Replayed:
    """Send one failed or dead-lettered delivery again, same webhook-id, in its place in the person's order."""
    replayed = await dead_letters.replay(database=database, clock=clock, actor=actor, webhook_id=webhook_id)
    if not replayed:
        raise Problem(
            404,
            "Not found",
            f"No failed or dead-lettered delivery has webhook id {webhook_id}.",
            "dead-letter-not-found",
        )
    return Replayed(replayed=replayed)


@router.post("/dead-letters/replay", response_model=Replayed, status_code=202)
async def replay_endpoint(database: DatabaseDep, clock: ClockDep, actor: ActorDep, body: ReplayRequest) -> Replayed:
    """Replay every dead letter of one endpoint (since a time, if given)."""
    replayed = await dead_letters.replay(
        database=database, clock=clock, actor=actor, agency_code=body.agency_code, since=body.since
    )
    return Replayed(replayed=replayed)


class EndpointPublic(BaseModel):
    agency_code: str
    name: str
    kind: str
    status: str
    reason: str | None = None
    changed_at: datetime | None = None
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    owner_contact: str | None = None
    revision: int = Field(0, description="The directory revision of the entry the notifier delivers with")


@router.get("/endpoints", response_model=list[EndpointPublic])
async def list_endpoints(
    caller: DeadLetterAdmin, database: DatabaseDep, directory: DirectoryDep
) -> list[EndpointPublic]:
    """Every endpoint of the directory with its state (active, paused, disabled)."""
    states = await endpoints.states(database=database)
    result = []
    for agency in directory.agencies:
        state = states.get(agency.code)
        known: dict[str, Any] = state.model_dump(exclude={"agency_code"}) if state else {"status": "active"}
        if agency.webhook.paused:
            known.update(status="paused", reason="paused in the directory")
        result.append(
            EndpointPublic(
                agency_code=agency.code,
                name=agency.name,
                kind=agency.kind.value,
                owner_contact=agency.owner,
                revision=agency.revision,
                **known,
            )
        )
    return result


class EndpointChanged(BaseModel):
    agency_code: str
    status: str
    waiting: list[DeliveryPublic] = Field(
        default_factory=list,
        description="Deliveries to this endpoint that did not arrive (failed or dead-lettered), oldest first: "
        "resume with resend=true to send them again, in order, with their original webhook-ids",
    )
    resent: list[str] = Field(default_factory=list, description="Webhook ids put back on the schedule")


def _known(directory: Directory, agency_code: str) -> None:
    if directory.by_code(agency_code) is None:
        raise Problem(404, "Not found", f"No agency {agency_code} in the directory.", "agency-not-found")


@router.post("/endpoints/{agency_code}/resume", response_model=EndpointChanged)
async def resume_endpoint(
    database: DatabaseDep,
    clock: ClockDep,
    directory: DirectoryDep,
    actor: ActorDep,
    agency_code: Annotated[str, Path(max_length=20)],
    resend: Annotated[bool, Query(description="Also send again what failed or was dead-lettered")] = False,
) -> EndpointChanged:
    """Resume a paused endpoint, or enable one disabled by 410 Gone; its held deliveries go at once. The answer
    lists what did not arrive and waits for it (``waiting``); with ``resend=true`` those are replayed too."""
    _known(directory, agency_code)
    status = await endpoints.reactivate(database=database, clock=clock, agency_code=agency_code, actor=actor)
    resent = (
        await dead_letters.replay(database=database, clock=clock, actor=actor, agency_code=agency_code)
        if resend
        else []
    )
    waiting = await dead_letters.list_dead_letters(database=database, agency_code=agency_code)
    return EndpointChanged(
        agency_code=agency_code, status=status, waiting=[_public(item) for item in waiting], resent=resent
    )


@router.post("/endpoints/{agency_code}/pause", response_model=EndpointChanged)
async def pause_endpoint(
    database: DatabaseDep,
    clock: ClockDep,
    directory: DirectoryDep,
    actor: ActorDep,
    agency_code: Annotated[str, Path(max_length=20)],
) -> EndpointChanged:
    _known(directory, agency_code)
    status = await endpoints.reactivate(
        database=database, clock=clock, agency_code=agency_code, actor=actor, pause=True
    )
    return EndpointChanged(agency_code=agency_code, status=status)


class EscalationPublic(BaseModel):
    id: str
    handover_id: str
    agency_code: str
    deadline: str
    due_at: datetime
    escalated_at: datetime
    told: list[str]
    establishment_code: str | None = None
    prison_number: str | None = None
    release_date: date | None = None


@router.get("/escalations", response_model=list[EscalationPublic])
async def list_escalations(
    caller: DeliveriesReader,
    request: Request,
    database: DatabaseDep,
    handover_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[EscalationPublic]:
    """Referrals escalated because their agency did not answer by a deadline, oldest first: one row per referral
    and deadline. Operators see every one; prison healthcare those of releases from its establishments (a
    handover of another prison answers 404); agencies and probation may not read them."""
    establishments: frozenset[str] | None = None
    if caller.role == Role.PRISON_HEALTHCARE:
        establishments = frozenset(caller.establishments)
        if handover_id is not None:
            fact = await escalation.handover_fact(database=database, handover_id=handover_id)
            if fact is None or fact.establishment_code not in establishments:
                raise Problem(
                    404,
                    "Not found",
                    f"No handover {handover_id} of this client's establishments.",
                    "handover-not-found",
                )
    elif caller.role != Role.OPERATOR:
        raise Problem(403, "Forbidden", "Escalations are read by prison healthcare and operators.", "forbidden")
    found = await escalation.escalations_with_facts(
        database=database, handover_id=handover_id, establishments=establishments, limit=limit
    )
    await audit_read(
        request,
        caller,
        "escalations.read",
        "escalation",
        resource_id=handover_id or "list",
        subject=found[0][1].subject if handover_id and found and found[0][1] else None,
        escalations=[item.id for item, _ in found][:100],
        count=len(found),
    )
    return [
        EscalationPublic(
            **item.model_dump(exclude={"told"}),
            told=[c for c in item.told.split(",") if c],
            establishment_code=fact.establishment_code if fact else None,
            prison_number=fact.subject if fact else None,
            release_date=fact.release_date if fact else None,
        )
        for item, fact in found
    ]


class ReferralPublic(BaseModel):
    handover_id: str
    agency_code: str
    agency_kind: str | None
    delivered_at: datetime | None
    answered_at: datetime | None
    answer: str | None


@router.get("/referrals", response_model=list[ReferralPublic])
async def list_referrals(
    caller: DeadLetterAdmin, request: Request, database: DatabaseDep, handover_id: str = Query(max_length=36)
) -> list[ReferralPublic]:
    """The referrals of a handover awaiting (or having) their agency's answer; unanswered ones escalate."""
    found = await escalation.referrals_of(database=database, handover_id=handover_id)
    await audit_read(request, caller, "referrals.read", "handover", resource_id=handover_id, referrals=len(found))
    return [ReferralPublic(**item.model_dump(exclude={"id", "subject"})) for item in found]


class AuditPublic(BaseModel):
    at: datetime
    action: str
    actor: str
    agency_code: str | None
    webhook_id: str | None
    handover_id: str | None
    detail: str | None


@router.get("/delivery-audit", response_model=list[AuditPublic])
async def delivery_audit(
    caller: DeadLetterAdmin,
    request: Request,
    database: DatabaseDep,
    webhook_id: Annotated[str | None, Query(max_length=64)] = None,
    agency_code: Annotated[str | None, Query(max_length=20)] = None,
    handover_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[AuditPublic]:
    """What was done to deliveries and endpoints, by whom, oldest first: the operator's view of the
    notifier's part of the audit trail (the hash-chained trail itself is ``GET /v1/audit``)."""
    found = await dead_letters.audit_trail(
        database=database, webhook_id=webhook_id, agency_code=agency_code, handover_id=handover_id
    )
    await audit_read(
        request,
        caller,
        "delivery_audit.read",
        "delivery_audit",
        resource_id=handover_id or webhook_id,
        agency_code=agency_code,
        records=len(found),
    )
    return [AuditPublic(**item.model_dump(exclude={"id"})) for item in found]
