"""What release_events' routes share: the unit of work per request, problem answers, unknown-field refusal."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request

from services.common.problems import PROBLEM_JSON, Problem
from services.release_events.adapters.group_commit import GroupCommit
from services.release_events.adapters.unit_of_work import SqlReleaseEventsUnitOfWork
from services.release_events.domain.custody_rules import HELD_ELSEWHERE, CustodyRefused, Refused
from services.release_events.domain.notices import IdempotencyConflict, NoticeNotFound, NotTheSameRelease, Superseded
from services.release_events.usecases.refusals import log_refusal


def unit_of_work(request: Request) -> SqlReleaseEventsUnitOfWork:
    return SqlReleaseEventsUnitOfWork(request.app.state.database, request.app.state.clock)


UnitOfWorkDep = Annotated[SqlReleaseEventsUnitOfWork, Depends(unit_of_work)]


def group_commit(request: Request) -> GroupCommit:
    """The process's one group commit: its batches are shared by every request of the app."""
    state = request.app.state
    if getattr(state, "group_commit", None) is None:
        max_batch = state.settings.group_commit_max_batch
        state.group_commit = GroupCommit(state.database, max_batch=max_batch)
    committer: GroupCommit = state.group_commit
    return committer


GroupCommitDep = Annotated[GroupCommit, Depends(group_commit)]


def new_id() -> str:
    return str(uuid.uuid4())


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
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: PROBLEM_RESPONSES[401],
    403: PROBLEM_RESPONSES[403],
    404: {"content": {PROBLEM_JSON: {}}, "description": "No such notice, or not one of this client's"},
    429: PROBLEM_RESPONSES[429],
}


def custody_problem(rule: Refused) -> Problem:
    """A write the custody register refused: 409 naming the rule and the field, never who holds the person."""
    title = "Held by another establishment" if rule.kind == HELD_ELSEWHERE else "Not in custody"
    errors = [{"field": rule.field, "pointer": f"#/{rule.field}", "detail": rule.detail}]
    return Problem(409, title, rule.detail, rule.kind, errors=errors)


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"No {what} has this id.", "not-found")


def problem_of(error: Exception) -> Problem:
    """The answer to a refusal of a notice use case (a custody event's reused sequence is answered by its route)."""
    if isinstance(error, CustodyRefused):
        return custody_problem(error.refused)
    if isinstance(error, IdempotencyConflict):
        return Problem(
            409,
            "Idempotency-Key reused",
            "This Idempotency-Key was used with a different request body.",
            "idempotency-conflict",
        )
    if isinstance(error, NotTheSameRelease):
        detail = f"A correction keeps the notice's {error.field}; a different one needs a new notice."
        pointer = {"field": f"notice.{error.field}", "pointer": f"#/notice/{error.field}"}
        errors = [{**pointer, "detail": "differs from the notice being corrected"}]
        return Problem(422, "Invalid request", detail, "validation", errors=errors)
    if isinstance(error, Superseded):
        detail = "A later notice for this person replaced this one: correct that one."
        return Problem(409, "Superseded", detail, "notice-superseded")
    if isinstance(error, NoticeNotFound):
        return not_found("release notice")
    raise error


NOTICE_REFUSALS = (CustodyRefused, IdempotencyConflict, NotTheSameRelease, Superseded, NoticeNotFound)


def refusal_answer(error: Exception, *, action: str) -> Problem:
    """:func:`problem_of`, with the log line of a custody refusal (``action`` refused): written here, once the
    refusal's record has committed (under group commit the use case ends inside a batch's savepoint)."""
    if isinstance(error, CustodyRefused):
        log_refusal(error.refused, action=action)
    return problem_of(error)
