"""Escalated referrals (prison healthcare reads its establishments' own, operators all) and the referrals the
notifier watches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.common.auth import DeadLetterAdmin, DeliveriesReader, Principal
from services.common.problems import Problem
from services.common.read_audit import audit_read
from services.common.roles import Role
from services.notifier.adapters.tables import Escalation, HandoverFact
from services.notifier.entrypoints.api.deps import UowDep
from services.notifier.entrypoints.api.schemas import EscalationPublic, ReferralPublic
from services.notifier.usecases import queries
from services.notifier.usecases.ports import NotifierUow

router = APIRouter(prefix="/v1")


async def _readable_establishments(
    caller: Principal, uow: NotifierUow, handover_id: str | None
) -> frozenset[str] | None:
    """The establishments whose escalations the caller may read (None: all); a handover of another prison is
    not found, and agencies and probation may not read escalations at all."""
    if caller.role == Role.OPERATOR:
        return None
    if caller.role != Role.PRISON_HEALTHCARE:
        raise Problem(403, "Forbidden", "Escalations are read by prison healthcare and operators.", "forbidden")
    establishments = frozenset(caller.establishments)
    if handover_id is not None:
        fact = await queries.handover_fact(uow=uow, handover_id=handover_id)
        if fact is None or fact.establishment_code not in establishments:
            detail = f"No handover {handover_id} of this client's establishments."
            raise Problem(404, "Not found", detail, "handover-not-found")
    return establishments


async def _audit_escalations_read(
    request: Request, caller: Principal, handover_id: str | None, found: list[tuple[Escalation, HandoverFact | None]]
) -> None:
    """Who read which escalations: the person only when one handover was asked for, at most 100 ids."""
    subject = found[0][1].subject if handover_id and found and found[0][1] else None
    await audit_read(
        request,
        caller,
        "escalations.read",
        "escalation",
        resource_id=handover_id or "list",
        subject=subject,
        escalations=[item.id for item, _ in found][:100],
        count=len(found),
    )


@router.get("/escalations", response_model=list[EscalationPublic])
async def list_escalations(
    caller: DeliveriesReader,
    request: Request,
    uow: UowDep,
    handover_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[EscalationPublic]:
    """Referrals escalated because their agency did not answer by a deadline, oldest first: one row per referral
    and deadline. Operators see every one; prison healthcare those of releases from its establishments (a
    handover of another prison answers 404); agencies and probation may not read them."""
    establishments = await _readable_establishments(caller, uow, handover_id)
    found = await queries.escalations_with_facts(
        uow=uow, handover_id=handover_id, establishments=establishments, limit=limit
    )
    await _audit_escalations_read(request, caller, handover_id, found)
    return [EscalationPublic.of(item, fact) for item, fact in found]


@router.get("/referrals", response_model=list[ReferralPublic])
async def list_referrals(
    caller: DeadLetterAdmin, request: Request, uow: UowDep, handover_id: str = Query(max_length=36)
) -> list[ReferralPublic]:
    """The referrals of a handover awaiting (or having) their agency's answer; unanswered ones escalate."""
    found = await queries.referrals_of(uow=uow, handover_id=handover_id)
    await audit_read(request, caller, "referrals.read", "handover", resource_id=handover_id, referrals=len(found))
    return [ReferralPublic(**item.model_dump(exclude={"id", "subject"})) for item in found]
