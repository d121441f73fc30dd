"""Routes of release notices: submit, correct, follow. Each parses, authorises, calls one use case, answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from contracts.release_notice import ReleaseNoticeAmendmentV1, ReleaseNoticeV1
from services.common.audit import AuditEntry
from services.common.auth import NoticeReader, NoticeSubmitter, Principal, acts_for_establishment, ensure_may_submit_for
from services.common.credentials import Role
from services.common.problems import PROBLEM_JSON, Problem
from services.release_events.domain.custody_rules import CustodyRefused
from services.release_events.domain.notices import IdempotencyConflict, NoticeNotFound, NotTheSameRelease, Superseded
from services.release_events.entrypoints.http import (
    PROBLEM_RESPONSES,
    READ_RESPONSES,
    UnitOfWorkDep,
    custody_problem,
    new_id,
    not_found,
    refuse_unknown_fields,
)
from services.release_events.entrypoints.views import AmendmentAccepted, NoticeStatusView, SubmissionAccepted
from services.release_events.usecases.accept_notice import Submission, accept_notice
from services.release_events.usecases.amend_notice import Amendment, amend_notice
from services.release_events.usecases.queries import notice_status

router = APIRouter(prefix="/v1")

SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The person's latest notice again, without an Idempotency-Key: status duplicate, the "
        "earlier notice's id, nothing published"
    },
    **PROBLEM_RESPONSES,
}
AMEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    200: {"description": "The same correction again: nothing new published (status duplicate)"},
    404: {"content": {PROBLEM_JSON: {}}, "description": "No such notice, or not one of this client's"},
    409: {"content": {PROBLEM_JSON: {}}, "description": "The person is held elsewhere, or a later notice exists"},
}
IDEMPOTENCY_CONFLICT = Problem(
    409,
    "Idempotency-Key reused",
    "This Idempotency-Key was used with a different request body.",
    "idempotency-conflict",
)
SUPERSEDED = Problem(
    409, "Superseded", "A later notice for this person replaced this one: correct that one.", "notice-superseded"
)


def notice_entry(caller: Principal, request: Request, action: str, notice: ReleaseNoticeV1) -> AuditEntry:
    return AuditEntry.by(
        caller,
        action=action,
        resource_type="release_notice",
        subject=notice.prison_number,
        correlation_id=request.state.correlation_id,
        details={"establishment_code": notice.establishment_code},
    )


def identity_problem(mismatch: NotTheSameRelease) -> Problem:
    field = mismatch.field
    detail = f"A correction keeps the notice's {field}; a different one needs a new notice."
    error = {
        "field": f"notice.{field}",
        "pointer": f"#/notice/{field}",
        "detail": "differs from the notice being corrected",
    }
    return Problem(422, "Invalid request", detail, "validation", errors=[error])


@router.post("/release-notices", status_code=202, response_model=SubmissionAccepted, responses=SUBMIT_RESPONSES)
async def submit_release_notice(
    notice: ReleaseNoticeV1,
    caller: NoticeSubmitter,
    request: Request,
    uow: UnitOfWorkDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Accept a release notice. Retrying with the same ``Idempotency-Key`` and body gives the same answer."""
    body = await request.json()
    refuse_unknown_fields(ReleaseNoticeV1, body, "notice")
    ensure_may_submit_for(caller, notice.establishment_code)
    state = request.app.state
    submission = Submission(
        notice=notice,
        body=body,
        idempotency_key=idempotency_key,
        scope=caller.client_id,
        correlation_id=request.state.correlation_id,
        audit_entry=notice_entry(caller, request, "notice.submitted", notice),
        idempotency_window=state.settings.idempotency_window,
    )
    try:
        answer = await accept_notice(
            uow=uow, submission=submission, notice_id=new_id(), now=state.clock.now(), source=state.settings.source
        )
    except IdempotencyConflict:
        raise IDEMPOTENCY_CONFLICT from None
    except CustodyRefused as refused:
        raise custody_problem(refused.refused) from None
    if not (answer.replayed or answer.duplicate):
        state.relay.wake()
    headers = {"Location": answer.body["status_url"], **({"Idempotent-Replayed": "true"} if answer.replayed else {})}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


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
    uow: UnitOfWorkDep,
) -> JSONResponse:
    """Correct an accepted notice: the whole corrected notice (same person and establishment) and a reason.
    The notice keeps its id and gets the next revision; handover amends the pack instead of withdrawing it.
    The same correction again is answered 200 with status ``duplicate`` and publishes nothing."""
    refuse_unknown_fields(ReleaseNoticeAmendmentV1, await request.json(), "amendment")
    state, notice = request.app.state, amendment.notice
    correction = Amendment(
        notice_id=notice_id,
        notice=notice,
        reason=amendment.reason,
        correlation_id=request.state.correlation_id,
        audit_entry=notice_entry(caller, request, "notice.amended", notice),
    )
    try:
        answer = await amend_notice(
            uow=uow,
            amendment=correction,
            amendment_id=new_id(),
            may_see=lambda code: acts_for_establishment(caller, code),
            now=state.clock.now(),
            source=state.settings.source,
        )
    except NoticeNotFound:
        raise not_found("release notice") from None
    except NotTheSameRelease as mismatch:
        raise identity_problem(mismatch) from None
    except Superseded:
        raise SUPERSEDED from None
    except CustodyRefused as refused:
        raise custody_problem(refused.refused) from None
    if not answer.duplicate:
        state.relay.wake()
    return JSONResponse(
        answer.body, status_code=answer.status_code, headers={"Location": str(answer.body["status_url"])}
    )


@router.get("/release-notices/{notice_id}", response_model=NoticeStatusView, responses=READ_RESPONSES)
async def get_release_notice_status(
    notice_id: Annotated[str, Path(max_length=36)],
    caller: NoticeReader,
    request: Request,
    uow: UnitOfWorkDep,
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
    operator = caller.role == Role.OPERATOR
    entry = AuditEntry.by(
        caller,
        action="notice.read",
        resource_type="release_notice",
        resource_id=notice_id,
        correlation_id=request.state.correlation_id,
    )
    try:
        status = await notice_status(
            uow=uow,
            notice_id=notice_id,
            may_read=lambda code: operator or acts_for_establishment(caller, code),
            audit_entry=entry,
        )
    except NoticeNotFound:
        raise not_found("release notice") from None
    return NoticeStatusView.of(status, with_notice=include == "notice" and not operator)
