"""Routes of custody events: submit one, follow it. Each parses, authorises, calls one use case, answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from contracts.custody import CustodyEventKind, CustodyEventV1
from services.common.audit import AuditEntry
from services.common.auth import (
    CustodyEventSubmitter,
    NoticeReader,
    Principal,
    acts_for_establishment,
    ensure_may_submit_for,
)
from services.common.problems import Problem
from services.common.roles import Role
from services.common.strict import refuse_unknown_fields
from services.release_events.domain.custody_rules import CustodyRefused
from services.release_events.domain.notices import IdempotencyConflict
from services.release_events.entrypoints.api.deps import (
    PROBLEM_RESPONSES,
    READ_RESPONSES,
    UnitOfWorkDep,
    custody_problem,
    new_id,
    not_found,
)
from services.release_events.entrypoints.api.schemas import CustodyEventAccepted, CustodyEventStatusView
from services.release_events.usecases.queries import CustodyEventNotFound, custody_event_status
from services.release_events.usecases.record_custody_event import Accepted, record_custody_event
from services.release_events.usecases.refusals import log_refusal

router = APIRouter(prefix="/v1")

SEQUENCE_CONFLICT = Problem(
    409, "Sequence already used", "Another custody event of this person has this sequence.", "sequence-conflict"
)


def ensure_may_report(caller: Principal, event: CustodyEventV1) -> None:
    """A transfer is reported by the sending establishment; any other event by where it happened."""
    if event.kind == CustodyEventKind.TRANSFER and event.from_establishment_code:
        ensure_may_submit_for(caller, event.from_establishment_code, "from_establishment_code")
    else:
        ensure_may_submit_for(caller, event.establishment_code)


def submitted_entry(caller: Principal, request: Request, event: CustodyEventV1) -> AuditEntry:
    return AuditEntry.by(
        caller,
        action="custody_event.submitted",
        resource_type="custody_event",
        subject=event.prison_number,
        correlation_id=request.state.correlation_id,
        details={"kind": event.kind.value, "sequence": event.sequence, "establishment_code": event.establishment_code},
    )


def accepted_response(accepted: Accepted) -> JSONResponse:
    url = f"/v1/custody-events/{accepted.custody_event_id}"
    headers = {"Location": url, **({"Idempotent-Replayed": "true"} if accepted.replayed else {})}
    answer = {"custody_event_id": accepted.custody_event_id, "status": "accepted", "status_url": url}
    return JSONResponse(answer, status_code=202, headers=headers)


@router.post("/custody-events", status_code=202, response_model=CustodyEventAccepted, responses=PROBLEM_RESPONSES)
async def submit_custody_event(
    event: CustodyEventV1, caller: CustodyEventSubmitter, request: Request, uow: UnitOfWorkDep
) -> JSONResponse:
    """Accept a custody event (reception, transfer, release date changed, release cancelled, released,
    recalled). The per-person ``sequence`` makes it idempotent: the same event again gets the same answer;
    another event with a used sequence gets 409."""
    body = await request.json()
    refuse_unknown_fields(CustodyEventV1, body, "the custody event")
    ensure_may_report(caller, event)
    state = request.app.state
    try:
        accepted = await record_custody_event(
            uow=uow,
            event=event,
            body=body,
            custody_event_id=new_id(),
            now=state.clock.now(),
            source=state.settings.source,
            correlation_id=request.state.correlation_id,
            audit_entry=submitted_entry(caller, request, event),
        )
    except IdempotencyConflict:
        raise SEQUENCE_CONFLICT from None
    except CustodyRefused as refused:
        log_refusal(refused.refused, action="custody_event.refused")
        raise custody_problem(refused.refused) from None
    if not accepted.replayed:
        state.relay.wake()
    return accepted_response(accepted)


@router.get("/custody-events/{custody_event_id}", response_model=CustodyEventStatusView, responses=READ_RESPONSES)
async def get_custody_event_status(
    custody_event_id: Annotated[str, Path(max_length=36)], caller: NoticeReader, request: Request, uow: UnitOfWorkDep
) -> CustodyEventStatusView:
    """Where a custody event is: accepted (stored), or published (handed to the broker)."""
    operator = caller.role == Role.OPERATOR
    entry = AuditEntry.by(
        caller,
        action="custody_event.read",
        resource_type="custody_event",
        resource_id=custody_event_id,
        details={},
        correlation_id=request.state.correlation_id,
    )
    try:
        found = await custody_event_status(
            uow=uow,
            custody_event_id=custody_event_id,
            may_read=lambda codes: operator or any(acts_for_establishment(caller, code) for code in codes),
            audit_entry=entry,
        )
    except CustodyEventNotFound:
        raise not_found("the custody event") from None
    return CustodyEventStatusView.of(found)
