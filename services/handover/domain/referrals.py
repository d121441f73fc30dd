"""Referral answers and the life of a referral (design notes §2 "referral status"). Pure.

requested -> received -> accepted (first appointment) -> completed (attended or not)
requested | received -> rejected (reason)          any open status -> cancelled (reason)
Probation "confirmed" is the acceptance of reporting instructions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.answers import Answer
from contracts.handover import ReferralKind


class ReferralStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


OPEN = frozenset({ReferralStatus.REQUESTED, ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED})

_NEXT: dict[Answer, tuple[frozenset[ReferralStatus], ReferralStatus]] = {
    Answer.RECEIVED: (frozenset({ReferralStatus.REQUESTED}), ReferralStatus.RECEIVED),
    Answer.ACCEPTED: (
        frozenset({ReferralStatus.REQUESTED, ReferralStatus.RECEIVED}),
        ReferralStatus.ACCEPTED,
    ),
    Answer.REJECTED: (
        frozenset({ReferralStatus.REQUESTED, ReferralStatus.RECEIVED}),
        ReferralStatus.REJECTED,
    ),
    Answer.COMPLETED: (frozenset({ReferralStatus.ACCEPTED}), ReferralStatus.COMPLETED),
    Answer.CONFIRMED: (
        frozenset({ReferralStatus.REQUESTED, ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED}),
        ReferralStatus.ACCEPTED,
    ),
}


class AnswerRefused(Exception):
    """The answer does not fit the referral; ``field`` names what is wrong (for problem details)."""

    def __init__(self, detail: str, field: str = "answer") -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class AnswerFacts:
    answer: Answer
    has_first_appointment: bool
    has_reason_code: bool
    attended: bool | None
    has_reporting_instructions: bool


def check_answer(facts: AnswerFacts, *, kind: ReferralKind) -> None:
    """Refuse an answer that lacks what its kind needs."""
    if kind == ReferralKind.NOTIFICATION:
        raise AnswerRefused("a notification to the prison is not a referral and takes no answer")
    if facts.answer == Answer.CONFIRMED and kind != ReferralKind.REPORTING_INSTRUCTIONS:
        raise AnswerRefused("only probation confirms, and only reporting instructions")
    if facts.answer == Answer.CONFIRMED and not facts.has_reporting_instructions:
        raise AnswerRefused("a confirmation carries the reporting instructions", "reporting_instructions")
    if kind == ReferralKind.REPORTING_INSTRUCTIONS and facts.answer == Answer.ACCEPTED:
        raise AnswerRefused("probation answers with 'confirmed' and the reporting instructions")
    if (
        facts.answer == Answer.ACCEPTED
        and kind in (ReferralKind.MENTAL_HEALTH, ReferralKind.SUBSTANCE_MISUSE)
        and not facts.has_first_appointment
    ):
        raise AnswerRefused("an acceptance carries the first appointment (time and place)", "first_appointment")
    if facts.answer == Answer.REJECTED and not facts.has_reason_code:
        raise AnswerRefused("a rejection carries a reason code", "reason_code")
    if facts.answer == Answer.COMPLETED and facts.attended is None:
        raise AnswerRefused("a completion says whether the first appointment was attended", "attended")


def next_status(current: ReferralStatus, facts: AnswerFacts, *, kind: ReferralKind) -> ReferralStatus:
    """The referral's status after ``facts``; AnswerRefused when the answer does not fit."""
    check_answer(facts, kind=kind)
    allowed_from, becomes = _NEXT[facts.answer]
    if current not in allowed_from:
        raise AnswerRefused(f"a referral that is {current.value} cannot be answered '{facts.answer.value}'")
    return becomes
