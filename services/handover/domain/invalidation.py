"""Which answers a change to the release no longer fits (pure).

An agency's answer was given for the release as it stood: probation confirmed where and when the person
reports, a team accepted with a first appointment. When the release moves past that time, or the prison
corrects the reporting instructions, the answer no longer holds: the agency is told so by name in its change
list and asked again, the referral goes back to awaiting its answer, and readiness says why. An answer the
change does not touch is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from contracts.handover import Invalidation, ReferralKind
from services.handover.domain.referrals import ReferralStatus


@dataclass(frozen=True)
class AnsweredReferral:
    kind: ReferralKind
    status: ReferralStatus
    first_appointment_at: datetime | None = None
    report_at: datetime | None = None


@dataclass(frozen=True)
class ReleaseChange:
    release_date_before: date
    release_date_after: date
    reporting_corrected: bool = False  # the prison changed the reporting instructions in its notice


def invalidation(referral: AnsweredReferral, change: ReleaseChange) -> Invalidation | None:
    """The answer ``change`` invalidates, named for the agency; None when the answer still holds."""
    if referral.status != ReferralStatus.ACCEPTED:
        return None
    moved = change.release_date_after != change.release_date_before
    if referral.kind == ReferralKind.REPORTING_INSTRUCTIONS:
        if referral.report_at is not None and moved and referral.report_at.date() < change.release_date_after:
            return Invalidation(
                item="reporting_instructions_confirmation",
                before=referral.report_at.isoformat(),
                reason=(
                    "confirmation invalidated by release date change: your confirmed reporting time "
                    f"({referral.report_at.isoformat()}) is before the new release date "
                    f"({change.release_date_after.isoformat()}); please confirm reporting instructions again"
                ),
            )
        if change.reporting_corrected:
            return Invalidation(
                item="reporting_instructions_confirmation",
                before=referral.report_at.isoformat() if referral.report_at else None,
                reason=(
                    "confirmation invalidated by a correction of the reporting instructions by prison "
                    "healthcare; please confirm reporting instructions again"
                ),
            )
        return None
    if referral.kind in (ReferralKind.MENTAL_HEALTH, ReferralKind.SUBSTANCE_MISUSE):
        at = referral.first_appointment_at
        if at is not None and moved and at.date() < change.release_date_after:
            return Invalidation(
                item="first_appointment",
                before=at.isoformat(),
                reason=(
                    f"acceptance invalidated by release date change: the first appointment ({at.isoformat()}) "
                    f"is before the new release date ({change.release_date_after.isoformat()}); please offer a "
                    "new first appointment"
                ),
            )
    return None
