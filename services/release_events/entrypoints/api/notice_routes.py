"""Routes of release notices: submit, correct, follow. Each parses, authorises, calls one use case, answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from contracts.release_notice import ReleaseNoticeAmendmentV1, ReleaseNoticeV1
from services.common.audit import AuditEntry
from services.common.auth import NoticeReader, NoticeSubmitter, Principal, acts_for_establishment, ensure_may_submit_for
from services.common.problems import PROBLEM_JSON
from services.common.roles import Role
from services.common.strict import refuse_unknown_fields
from services.release_events.entrypoints.api.deps import (
    NOTICE_REFUSALS,
    PROBLEM_RESPONSES,
    READ_RESPONSES,
    GroupCommitDep,
    UnitOfWorkDep,
    new_id,
    problem_of,
    refusal_answer,
)
from services.release_events.entrypoints.api.schemas import AmendmentAccepted, NoticeStatusView, SubmissionAccepted
from services.release_events.usecases.accept_notice import Submission, accept_notice, announce
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
NoticeId = Annotated[str, Path(max_length=36)]
IncludeNotice = Annotated[
    str | None,
    Query(
        pattern="^notice$",
        description="`notice`: add the whole current notice (the establishment's prison healthcare only)",
    ),
]


def notice_entry(caller: Principal, request: Request, action: str, notice: ReleaseNoticeV1) -> AuditEntry:
    return AuditEntry.by(
        caller,
        action=action,
        resource_type="release_notice",
        subject=notice.prison_number,
        correlation_id=request.state.correlation_id,
        details={"establishment_code": notice.establishment_code},
    )


def submission_of(
    notice: ReleaseNoticeV1, body: dict[str, Any], caller: Principal, request: Request, idempotency_key: str | None
) -> Submission:
    return Submission(
        notice=notice,
        body=body,
        idempotency_key=idempotency_key,
        scope=caller.client_id,
        correlation_id=request.state.correlation_id,
        audit_entry=notice_entry(caller, request, "notice.submitted", notice),
        idempotency_window=request.app.state.settings.idempotency_window,
    )


@router.post("/release-notices", status_code=202, response_model=SubmissionAccepted, responses=SUBMIT_RESPONSES)
async def submit_release_notice(
    notice: ReleaseNoticeV1,
    caller: NoticeSubmitter,
    request: Request,
    uow: UnitOfWorkDep,
    commits: GroupCommitDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Accept a release notice. Retrying with the same ``Idempotency-Key`` and body gives the same answer.
    Concurrent submissions are committed together (group commit); each is answered after that commit."""
    body = await request.json()
    refuse_unknown_fields(ReleaseNoticeV1, body, "the notice")
    ensure_may_submit_for(caller, notice.establishment_code)
    state = request.app.state
    submission = submission_of(notice, body, caller, request, idempotency_key)
    try:
        answer = await commits.run(
            lambda: accept_notice(
                uow=uow, submission=submission, notice_id=new_id(), now=state.clock.now(), source=state.settings.source
            ),
            order=notice.prison_number,
        )
    except NOTICE_REFUSALS as refused:  # a custody refusal's record committed with the batch
        raise refusal_answer(refused, action="notice.refused") from None
    announce(answer, establishment_code=notice.establishment_code)  # the batch committed: now it may be said
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
    notice_id: NoticeId,
    amendment: ReleaseNoticeAmendmentV1,
    caller: NoticeSubmitter,
    request: Request,
    uow: UnitOfWorkDep,
) -> JSONResponse:
    """Correct an accepted notice: the whole corrected notice (same person and establishment) and a reason.
    The notice keeps its id and gets the next revision; handover amends the pack instead of withdrawing it.
    The same correction again is answered 200 with status ``duplicate`` and publishes nothing."""
    refuse_unknown_fields(ReleaseNoticeAmendmentV1, await request.json(), "the amendment")
    state, notice = request.app.state, amendment.notice
    entry = notice_entry(caller, request, "notice.amended", notice)
    correction = Amendment(notice_id, notice, amendment.reason, request.state.correlation_id, entry)
    try:
        answer = await amend_notice(
            uow=uow,
            amendment=correction,
            amendment_id=new_id(),
            may_see=lambda code: acts_for_establishment(caller, code),
            now=state.clock.now(),
            source=state.settings.source,
        )
    except NOTICE_REFUSALS as refused:
        raise refusal_answer(refused, action="notice.amend_refused") from None
    if not answer.duplicate:
        state.relay.wake()
    headers = {"Location": str(answer.body["status_url"])}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


@router.get("/release-notices/{notice_id}", response_model=NoticeStatusView, responses=READ_RESPONSES)
async def get_release_notice_status(
    notice_id: NoticeId, caller: NoticeReader, request: Request, uow: UnitOfWorkDep, include: IncludeNotice = None
) -> NoticeStatusView:
    """Where a notice is, to the end: accepted (stored), published (handed to the broker), pack_issued (the
    handover and its pack version), withdrawn; each agency's delivery state; its corrections. With
    ``include=notice`` the establishment's prison healthcare also gets the current notice, to correct it."""
    operator = caller.role == Role.OPERATOR
    correlation_id = request.state.correlation_id
    entry = AuditEntry.by(
        caller,
        action="notice.read",
        resource_type="release_notice",
        resource_id=notice_id,
        correlation_id=correlation_id,
    )
    try:
        status = await notice_status(
            uow=uow,
            notice_id=notice_id,
            may_read=lambda code: operator or acts_for_establishment(caller, code),
            audit_entry=entry,
        )
    except NOTICE_REFUSALS as refused:
        raise problem_of(refused) from None
    return NoticeStatusView.of(status, with_notice=include == "notice" and not operator)
