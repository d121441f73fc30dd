"""Agencies answer their referrals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Response

from contracts.answers import Answer
from services.common.auth import AnswerWriter, ensure_organisation, ensure_scope
from services.common.problems import Problem
from services.common.roles import Scope
from services.handover.domain.referrals import AnswerRefused
from services.handover.entrypoints.api.deps import WriteDep
from services.handover.entrypoints.api.schemas import AnswerBody, AnswerPublic
from services.handover.usecases import answers

router = APIRouter(prefix="/v1")


def refused(error: AnswerRefused) -> Problem:
    """A refused answer: 409 when the referral's state does not allow it, 422 when a field is wrong."""
    detail = {"field": error.field, "pointer": "#/" + error.field.replace(".", "/"), "detail": error.detail}
    status = 422 if error.field != "answer" else 409
    return Problem(status, "Answer refused", error.detail, "answer-refused", errors=[detail])


@contextmanager
def answer_problems() -> Iterator[None]:
    """The answer use case's refusals as problem documents."""
    try:
        yield
    except answers.ReferralNotFound:
        raise Problem(404, "Not found", "This agency has no referral with this id.", "not-found") from None
    except answers.HandoverClosed as error:
        raise Problem(409, "Handover closed", str(error), "handover-closed") from None
    except AnswerRefused as error:
        raise refused(error) from None


@router.post("/agencies/{agency_code}/referrals/{referral_id}/answers", response_model=AnswerPublic, status_code=201)
async def answer_referral(
    agency_code: str,
    referral_id: str,
    body: AnswerBody,
    caller: AnswerWriter,
    response: Response,
    write: WriteDep,
) -> AnswerPublic:
    """An agency answers its referral: received, accepted, rejected, completed; probation: confirmed."""
    if body.answer == Answer.CONFIRMED:  # confirming reporting instructions is a scope of its own
        ensure_scope(caller, Scope.REPORTING_CONFIRM)
    ensure_organisation(caller, agency_code, "referral")
    with answer_problems():
        outcome = await answers.answer_referral(
            uow=write.uow,
            agency_code=agency_code,
            referral_id=referral_id,
            given=answers.AnswerIn(**dict(body)),
            source=write.settings.source,
            now=write.now,
            correlation_id=write.correlation_id,
            actor=caller,
        )
    if outcome.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    else:
        write.relay.wake()
    return AnswerPublic(**{k: getattr(outcome, k) for k in AnswerPublic.model_fields})
