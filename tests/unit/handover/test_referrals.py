"""Answers to referrals: the life of a referral and what each answer must carry."""

from __future__ import annotations

import pytest

from contracts.answers import Answer
from contracts.handover import ReferralKind
from services.handover.domain.referrals import AnswerFacts, AnswerRefused, next_status
from services.handover.domain.referrals import ReferralStatus as S

MH = ReferralKind.MENTAL_HEALTH


def facts(answer: Answer, **given) -> AnswerFacts:  # type: ignore[no-untyped-def]
    values = {
        "has_first_appointment": False,
        "has_reason_code": False,
        "attended": None,
        "has_reporting_instructions": False,
    }
    return AnswerFacts(answer=answer, **{**values, **given})


@pytest.mark.parametrize(
    ("current", "given", "becomes"),
    [
        (S.REQUESTED, facts(Answer.RECEIVED), S.RECEIVED),
        (S.REQUESTED, facts(Answer.ACCEPTED, has_first_appointment=True), S.ACCEPTED),
        (S.RECEIVED, facts(Answer.ACCEPTED, has_first_appointment=True), S.ACCEPTED),
        (S.RECEIVED, facts(Answer.REJECTED, has_reason_code=True), S.REJECTED),
        (S.ACCEPTED, facts(Answer.COMPLETED, attended=False), S.COMPLETED),
    ],
)
def test_the_life_of_a_referral(current: S, given: AnswerFacts, becomes: S) -> None:
    assert next_status(current, given, kind=MH) == becomes


@pytest.mark.parametrize(
    ("current", "given"),
    [
        (S.ACCEPTED, facts(Answer.REJECTED, has_reason_code=True)),
        (S.REJECTED, facts(Answer.ACCEPTED, has_first_appointment=True)),
        (S.CANCELLED, facts(Answer.RECEIVED)),
        (S.REQUESTED, facts(Answer.COMPLETED, attended=True)),
        (S.COMPLETED, facts(Answer.RECEIVED)),
    ],
)
def test_answers_that_do_not_fit_the_status_are_refused(current: S, given: AnswerFacts) -> None:
    with pytest.raises(AnswerRefused, match="cannot be answered"):
        next_status(current, given, kind=MH)


@pytest.mark.parametrize(
    ("kind", "given", "field"),
    [
        (MH, facts(Answer.ACCEPTED), "first_appointment"),
        (ReferralKind.SUBSTANCE_MISUSE, facts(Answer.ACCEPTED), "first_appointment"),
        (MH, facts(Answer.REJECTED), "reason_code"),
        (MH, facts(Answer.COMPLETED), "attended"),
        (MH, facts(Answer.CONFIRMED, has_reporting_instructions=True), "answer"),
        (ReferralKind.REPORTING_INSTRUCTIONS, facts(Answer.CONFIRMED), "reporting_instructions"),
        (ReferralKind.REPORTING_INSTRUCTIONS, facts(Answer.ACCEPTED, has_first_appointment=True), "answer"),
        (ReferralKind.NOTIFICATION, facts(Answer.RECEIVED), "answer"),
    ],
)
@pytest.mark.hazard("H24")
def test_an_answer_carries_what_its_kind_needs(kind: ReferralKind, given: AnswerFacts, field: str) -> None:
    with pytest.raises(AnswerRefused) as refused:
        next_status(S.REQUESTED, given, kind=kind)
    assert refused.value.field == field


def test_probation_confirms_reporting_instructions_and_a_gp_accepts_without_an_appointment() -> None:
    confirmed = facts(Answer.CONFIRMED, has_reporting_instructions=True)
    assert next_status(S.RECEIVED, confirmed, kind=ReferralKind.REPORTING_INSTRUCTIONS) == S.ACCEPTED
    assert next_status(S.ACCEPTED, confirmed, kind=ReferralKind.REPORTING_INSTRUCTIONS) == S.ACCEPTED  # re-confirm
    assert next_status(S.REQUESTED, facts(Answer.ACCEPTED), kind=ReferralKind.GP_REGISTRATION) == S.ACCEPTED
