"""HTTP API of release_events. Routes parse and answer; the work is in :mod:`service`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.custody import CustodyEventKind, CustodyEventV1
from contracts.release_notice import ReleaseNoticeAmendmentV1, ReleaseNoticeV1
from services.common.audit import AuditEntry, append
from services.common.auth import (
    CustodyEventSubmitter,
    NoticeReader,
    NoticeSubmitter,
    Principal,
    acts_for_establishment,
    ensure_establishment,
    ensure_may_submit_for,
    not_found,
)
from services.common.credentials import Role
from services.common.problems import PROBLEM_JSON, Problem
from services.common.read_audit import audit_read
from services.common.strict import unknown_fields
from services.release_events import amendments, custody, progress, service
from services.release_events.register import CustodyRefused

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1")

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"content": {PROBLEM_JSON: {}}, "description": description}
    for status, description in {
        400: "Malformed request",
        401: "No valid API key",
        403: "The client may not submit, or not for this establishment",
        429: "Too many requests from this client",
        409: "Idempotency-Key reused with another body, or the person is held by another establishment",
        413: "Body too large",
        422: "Invalid notice; every bad field is named",
    }.items()
}


def refuse_unknown_fields(model: type[BaseModel], body: Any, what: str) -> None:
    unknown = unknown_fields(model, body)
    if unknown:
        errors = [
            {"field": ".".join(map(str, loc)), "pointer": "#/" + "/".join(map(str, loc)), "detail": "unknown field"}
            for loc in unknown
        ]
        names = ", ".join(error["field"] for error in errors)
        raise Problem(
            422, "Invalid request", f"These fields are not part of the {what}: {names}.", "validation", errors=errors
        )


async def refuse_by_custody(
    request: Request, caller: Principal, refused: CustodyRefused, action: str, subject: str, details: dict[str, Any]
) -> Problem:
    """Audit a write the custody register refused (who tried what, no personal data in the log) and say why."""
    rule = refused.refused
    await append(
        request.app.state.database,
        AuditEntry.by(
            caller,
            action=action,
            resource_type="custody_register",
            subject=subject,
            outcome="refused",
            correlation_id=request.state.correlation_id,
            details={**details, "rule": rule.kind},
        ),
        request.app.state.clock.now(),
    )
    log.info("custody.refused", rule=rule.kind, action=action)
    title = "Held by another establishment" if rule.kind == "held-elsewhere" else "Not in custody"
    return Problem(
        409,
        title,
        rule.detail,
        rule.kind,
        errors=[{"field": rule.field, "pointer": f"#/{rule.field}", "detail": rule.detail}],
    )


class SubmissionAccepted(BaseModel):
    notice_id: str
    status: str = "accepted"
    status_url: str


class DeliveryView(BaseModel):
    agency_code: str
    message: str
    state: str
    updated_at: str


class AmendmentView(BaseModel):
    amendment_id: str
    revision: int
    received_at: str
    published_at: str | None


class NoticeStatusView(BaseModel):
    """Where a notice is: accepted (stored), published (handed to the broker), pack_issued (handover built
    its pack: ``handover_id``, ``version``), withdrawn (handover withdrew it); and each agency's delivery."""

    notice_id: str
    status: str
    received_at: str
    published_at: str | None
    revision: int = 1
    amendments: list[AmendmentView] = []
    handover_id: str | None = None
    version: int | None = None
    pack_state: str | None = None
    deliveries: list[DeliveryView] = []
    notice: dict[str, Any] | None = Field(
        default=None,
        description="The current revision's whole notice, with `include=notice`, for the "
        "establishment's own prison healthcare only (operators never get clinical content)",
    )


SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The person's latest notice again, without an Idempotency-Key: status duplicate, the "
        "earlier notice's id, nothing published"
    },
    **PROBLEM_RESPONSES,
}


@router.post("/release-notices", status_code=202, response_model=SubmissionAccepted, responses=SUBMIT_RESPONSES)
async def submit_release_notice(
    notice: ReleaseNoticeV1,
    caller: NoticeSubmitter,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Accept a release notice. Retrying with the same ``Idempotency-Key`` and body gives the same answer."""
    body = await request.json()
    refuse_unknown_fields(ReleaseNoticeV1, body, "notice")
    ensure_may_submit_for(caller, notice.establishment_code)
    settings = request.app.state.settings
    submission = service.Submission(
        notice=notice,
        body=body,
        idempotency_key=idempotency_key,
        scope=caller.client_id,
        correlation_id=request.state.correlation_id,
        audit_entry=AuditEntry.by(
            caller,
            action="notice.submitted",
            resource_type="release_notice",
            subject=notice.prison_number,
            correlation_id=request.state.correlation_id,
            details={"establishment_code": notice.establishment_code},
        ),
        idempotency_window=settings.idempotency_window,
    )
    try:
        answer = await service.submit_notice(
            database=request.app.state.database,
            submission=submission,
            clock=request.app.state.clock,
            source=request.app.state.settings.source,
        )
    except service.IdempotencyConflict:
        raise Problem(
            409,
            "Idempotency-Key reused",
            "This Idempotency-Key was used with a different request body.",
            "idempotency-conflict",
        ) from None
    except CustodyRefused as refused:
        raise await refuse_by_custody(
            request,
            caller,
            refused,
            "notice.refused",
            notice.prison_number,
            {"establishment_code": notice.establishment_code},
        ) from None
    if not (answer.replayed or answer.duplicate):
        request.app.state.relay.wake()
    headers = {"Location": answer.body["status_url"]}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


class AmendmentAccepted(BaseModel):
    notice_id: str
    amendment_id: str | None
    revision: int
    status: str
    status_url: str


AMEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    200: {"description": "The same correction again: nothing new published (status duplicate)"},
    404: {"content": {PROBLEM_JSON: {}}, "description": "No such notice, or not one of this client's"},
    409: {"content": {PROBLEM_JSON: {}}, "description": "The person is held elsewhere, or a later notice exists"},
}


@router.post(
    "/release-notices/{notice_id}/amendments",
    status_code=202,
    response_model=AmendmentAccepted,
    responses=AMEND_RESPONSES,
)
async def amend_release_notice(
    notice_id: Annotated[str, Path(max_length=36)],
    amendment: ReleaseNoticeAmendmentV1,
    caller: NoticeSubmitter,
    request: Request,
) -> JSONResponse:
    """Correct an accepted notice: the whole corrected notice (same person and establishment) and a reason.
    The notice keeps its id and gets the next revision; handover amends the pack instead of withdrawing it.
    The same correction again is answered 200 with status ``duplicate`` and publishes nothing."""
    body = await request.json()
    refuse_unknown_fields(ReleaseNoticeAmendmentV1, body, "amendment")
    notice = amendment.notice
    try:
        answer = await amendments.amend_notice(
            database=request.app.state.database,
            amendment=amendments.Amendment(
                notice_id=notice_id,
                notice=notice,
                reason=amendment.reason,
                correlation_id=request.state.correlation_id,
                audit_entry=AuditEntry.by(
                    caller,
                    action="notice.amended",
                    resource_type="release_notice",
                    subject=notice.prison_number,
                    correlation_id=request.state.correlation_id,
                    details={"establishment_code": notice.establishment_code},
                ),
            ),
            may_see=lambda code: acts_for_establishment(caller, code),
            clock=request.app.state.clock,
            source=request.app.state.settings.source,
        )
    except amendments.NoticeNotFound:
        raise Problem(404, "Not found", "No release notice has this id.", "not-found") from None
    except amendments.NotTheSameRelease as mismatch:
        detail = f"A correction keeps the notice's {mismatch.field}; a different one needs a new notice."
        raise Problem(
            422,
            "Invalid request",
            detail,
            "validation",
            errors=[
                {
                    "field": f"notice.{mismatch.field}",
                    "pointer": f"#/notice/{mismatch.field}",
                    "detail": "differs from the notice being corrected",
                }
            ],
        ) from None
    except amendments.Superseded:
        raise Problem(
            409,
            "Superseded",
            "A later notice for this person replaced this one: correct that one.",
            "notice-superseded",
        ) from None
    except CustodyRefused as refused:
        raise await refuse_by_custody(
            request, caller, refused, "notice.amend_refused", notice.prison_number, {"notice_id": notice_id}
        ) from None
    if not answer.duplicate:
        request.app.state.relay.wake()
    return JSONResponse(
        answer.body, status_code=answer.status_code, headers={"Location": str(answer.body["status_url"])}
    )


READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: PROBLEM_RESPONSES[401],
    403: PROBLEM_RESPONSES[403],
    404: {"content": {PROBLEM_JSON: {}}, "description": "No such notice, or not one of this client's"},
    429: PROBLEM_RESPONSES[429],
}


@router.get("/release-notices/{notice_id}", response_model=NoticeStatusView, responses=READ_RESPONSES)
async def get_release_notice_status(
    notice_id: Annotated[str, Path(max_length=36)],
    caller: NoticeReader,
    request: Request,
    include: Annotated[
        str | None,
        Query(
            pattern="^notice$",
            description="`notice`: add the whole current notice (the establishment's prison healthcare only)",
        ),
    ] = None,
) -> NoticeStatusView:
    """Where a notice is, to the end: accepted (stored), published (handed to the broker), pack_issued (the
    handover and its pack version), withdrawn; each agency's delivery state; its corrections. With
    ``include=notice`` the establishment's prison healthcare also gets the current notice, to correct it."""
    database = request.app.state.database
    status = await service.notice_status(database=database, notice_id=notice_id)
    if status is None:
        raise Problem(404, "Not found", "No release notice has this id.", "not-found")
    if caller.role != Role.OPERATOR:
        ensure_establishment(caller, status.establishment_code, "release notice")
    await append(
        database,
        AuditEntry.by(
            caller,
            action="notice.read",
            resource_type="release_notice",
            resource_id=notice_id,
            correlation_id=request.state.correlation_id,
        ),
        request.app.state.clock.now(),
    )
    pack, deliveries = await progress.progress_of(database=database, notice_id=notice_id)
    if pack is not None:
        stage = "withdrawn" if pack.state == "withdrawn" else "pack_issued"
    else:
        stage = "published" if status.published_at else "accepted"
    return NoticeStatusView(
        notice_id=status.notice_id,
        status=stage,
        received_at=status.received_at.isoformat(),
        published_at=status.published_at.isoformat() if status.published_at else None,
        revision=status.revision,
        amendments=[
            AmendmentView(
                amendment_id=item.amendment_id,
                revision=item.revision,
                received_at=item.received_at.isoformat(),
                published_at=item.published_at.isoformat() if item.published_at else None,
            )
            for item in status.amendments
        ],
        handover_id=pack.handover_id if pack else None,
        version=pack.version if pack else None,
        pack_state=pack.state if pack else None,
        deliveries=[
            DeliveryView(
                agency_code=item.agency_code,
                message=item.message,
                state=item.state,
                updated_at=item.updated_at.isoformat(),
            )
            for item in deliveries
        ],
        notice=json.loads(status.body) if include == "notice" and caller.role != Role.OPERATOR else None,
    )


class CustodyEventAccepted(BaseModel):
    custody_event_id: str
    status: str
    status_url: str


@router.post("/custody-events", status_code=202, response_model=CustodyEventAccepted, responses=PROBLEM_RESPONSES)
async def submit_custody_event(event: CustodyEventV1, caller: CustodyEventSubmitter, request: Request) -> JSONResponse:
    """Accept a custody event (reception, transfer, release date changed, release cancelled, released,
    recalled). The per-person ``sequence`` makes it idempotent: the same event again gets the same answer;
    another event with a used sequence gets 409."""
    body = await request.json()
    refuse_unknown_fields(CustodyEventV1, body, "custody event")
    if event.kind == CustodyEventKind.TRANSFER and event.from_establishment_code:
        # a transfer is reported by the sending establishment
        ensure_may_submit_for(caller, event.from_establishment_code, "from_establishment_code")
    else:
        ensure_may_submit_for(caller, event.establishment_code)
    try:
        accepted = await custody.submit_custody_event(
            database=request.app.state.database,
            event=event,
            body=body,
            clock=request.app.state.clock,
            source=request.app.state.settings.source,
            correlation_id=request.state.correlation_id,
            audit_entry=AuditEntry.by(
                caller,
                action="custody_event.submitted",
                resource_type="custody_event",
                subject=event.prison_number,
                correlation_id=request.state.correlation_id,
                details={
                    "kind": event.kind.value,
                    "sequence": event.sequence,
                    "establishment_code": event.establishment_code,
                },
            ),
        )
    except service.IdempotencyConflict:
        raise Problem(
            409, "Sequence already used", "Another custody event of this person has this sequence.", "sequence-conflict"
        ) from None
    except CustodyRefused as refused:
        raise await refuse_by_custody(
            request,
            caller,
            refused,
            "custody_event.refused",
            event.prison_number,
            {"kind": event.kind.value, "sequence": event.sequence, "establishment_code": event.establishment_code},
        ) from None
    if not accepted.replayed:
        request.app.state.relay.wake()
    url = f"/v1/custody-events/{accepted.custody_event_id}"
    headers = {"Location": url, **({"Idempotent-Replayed": "true"} if accepted.replayed else {})}
    return JSONResponse(
        {"custody_event_id": accepted.custody_event_id, "status": "accepted", "status_url": url},
        status_code=202,
        headers=headers,
    )


class CustodyEventStatusView(BaseModel):
    custody_event_id: str
    sequence: int
    kind: str
    status: str
    received_at: str
    published_at: str | None


@router.get("/custody-events/{custody_event_id}", response_model=CustodyEventStatusView, responses=READ_RESPONSES)
async def get_custody_event_status(
    custody_event_id: Annotated[str, Path(max_length=36)], caller: NoticeReader, request: Request
) -> CustodyEventStatusView:
    """Where a custody event is: accepted (stored), or published (handed to the broker)."""
    found = await custody.custody_event_status(database=request.app.state.database, custody_event_id=custody_event_id)
    if found is None:
        raise Problem(404, "Not found", "No custody event has this id.", "not-found")
    if caller.role != Role.OPERATOR and not any(acts_for_establishment(caller, code) for code in found.establishments):
        raise not_found("custody event")
    await audit_read(request, caller, "custody_event.read", "custody_event", resource_id=custody_event_id)
    return CustodyEventStatusView(
        custody_event_id=found.custody_event_id,
        sequence=found.sequence,
        kind=found.kind,
        status="published" if found.published_at else "accepted",
        received_at=found.received_at.isoformat(),
        published_at=found.published_at.isoformat() if found.published_at else None,
    )
