"""HTTP API of release_events. Routes parse and answer; the work is in :mod:`service`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from contracts.custody import CustodyEventV1
from contracts.release_notice import ReleaseNoticeV1
from services.common.audit import AuditEntry, append
from services.common.auth import (
    CustodyEventSubmitter,
    NoticeReader,
    NoticeSubmitter,
    ensure_establishment,
    ensure_may_submit_for,
)
from services.common.credentials import Role
from services.common.problems import PROBLEM_JSON, Problem
from services.common.read_audit import audit_read
from services.common.strict import unknown_fields
from services.release_events import custody, service

router = APIRouter(prefix="/v1")

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"content": {PROBLEM_JSON: {}}, "description": description}
    for status, description in {
        400: "Malformed request",
        401: "No valid API key",
        403: "The client may not submit, or not for this establishment",
        429: "Too many requests from this client",
        409: "Idempotency-Key reused with another body",
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
        raise Problem(422, "Invalid request", f"These fields are not part of the {what}: {names}.", "validation",
                      errors=errors)


class SubmissionAccepted(BaseModel):
    notice_id: str
    status: str
    status_url: str


class NoticeStatusView(BaseModel):
    notice_id: str
    status: str
    received_at: str
    published_at: str | None


@router.post("/release-notices", status_code=202, response_model=SubmissionAccepted, responses=PROBLEM_RESPONSES)
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
    submission = service.Submission(
        notice=notice,
        body=body,
        idempotency_key=idempotency_key,
        scope=caller.client_id,
        correlation_id=request.state.correlation_id,
        audit_entry=AuditEntry.by(caller, action="notice.submitted", resource_type="release_notice",
                                  subject=notice.prison_number, correlation_id=request.state.correlation_id,
                                  details={"establishment_code": notice.establishment_code}),
    )
    try:
        answer = await service.submit_notice(
            database=request.app.state.database,
            submission=submission,
            clock=request.app.state.clock,
            source=request.app.state.settings.source,
        )
    except service.IdempotencyConflict:
        raise Problem(409, "Idempotency-Key reused",
                      "This Idempotency-Key was used with a different request body.", "idempotency-conflict") from None
    if not answer.replayed:
        request.app.state.relay.wake()
    headers = {"Location": answer.body["status_url"]}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: PROBLEM_RESPONSES[401],
    403: PROBLEM_RESPONSES[403],
    404: {"content": {PROBLEM_JSON: {}}, "description": "No such notice, or not one of this client's"},
    429: PROBLEM_RESPONSES[429],
}


@router.get("/release-notices/{notice_id}", response_model=NoticeStatusView, responses=READ_RESPONSES)
async def get_release_notice_status(
    notice_id: Annotated[str, Path(max_length=36)], caller: NoticeReader, request: Request
) -> NoticeStatusView:
    """Where a notice is: accepted (stored), or published (handed to the broker)."""
    status = await service.notice_status(database=request.app.state.database, notice_id=notice_id)
    if status is None:
        raise Problem(404, "Not found", "No release notice has this id.", "not-found")
    if caller.role != Role.OPERATOR:
        ensure_establishment(caller, status.establishment_code, "release notice")
    await append(request.app.state.database, AuditEntry.by(
        caller, action="notice.read", resource_type="release_notice", resource_id=notice_id,
        correlation_id=request.state.correlation_id), request.app.state.clock.now())
    return NoticeStatusView(
        notice_id=status.notice_id,
        status="published" if status.published_at else "accepted",
        received_at=status.received_at.isoformat(),
        published_at=status.published_at.isoformat() if status.published_at else None,
    )


class CustodyEventAccepted(BaseModel):
    custody_event_id: str
    status: str
    status_url: str


@router.post("/custody-events", status_code=202, response_model=CustodyEventAccepted, responses=PROBLEM_RESPONSES)
async def submit_custody_event(
    event: CustodyEventV1, caller: CustodyEventSubmitter, request: Request
) -> JSONResponse:
    """Accept a custody event (reception, transfer, release date changed, release cancelled, released,
    recalled). The per-person ``sequence`` makes it idempotent: the same event again gets the same answer;
    another event with a used sequence gets 409."""
    body = await request.json()
    refuse_unknown_fields(CustodyEventV1, body, "custody event")
    ensure_may_submit_for(caller, event.establishment_code)
    try:
        accepted = await custody.submit_custody_event(
            database=request.app.state.database, event=event, body=body, clock=request.app.state.clock,
            source=request.app.state.settings.source, correlation_id=request.state.correlation_id,
            audit_entry=AuditEntry.by(
                caller, action="custody_event.submitted", resource_type="custody_event",
                subject=event.prison_number, correlation_id=request.state.correlation_id,
                details={"kind": event.kind.value, "sequence": event.sequence,
                         "establishment_code": event.establishment_code},
            ),
        )
    except service.IdempotencyConflict:
        raise Problem(409, "Sequence already used",
                      "Another custody event of this person has this sequence.", "sequence-conflict") from None
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
    found = await custody.custody_event_status(
        database=request.app.state.database, custody_event_id=custody_event_id
    )
    if found is None:
        raise Problem(404, "Not found", "No custody event has this id.", "not-found")
    if caller.role != Role.OPERATOR:
        ensure_establishment(caller, found.establishment_code, "custody event")
    await audit_read(request, caller, "custody_event.read", "custody_event", resource_id=custody_event_id)
    return CustodyEventStatusView(
        custody_event_id=found.custody_event_id,
        sequence=found.sequence,
        kind=found.kind,
        status="published" if found.published_at else "accepted",
        received_at=found.received_at.isoformat(),
        published_at=found.published_at.isoformat() if found.published_at else None,
    )
