"""The state of a person's case and the rules that read it from the referrals as they stand. Pure.

Referrals are read through :class:`ReferralState`, the few fields these rules need, so the same rules run over
stored rows and over plain test data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import Protocol

from contracts.handover import AgencyKind, ReferralKind
from contracts.release_notice import ReleaseNoticeV1, ReportingInstructions
from services.handover.domain.custody import Decides
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.distribution import Recipient
from services.handover.domain.readiness import UNROUTED_ALERTS
from services.handover.domain.referral_routing import Area, Routed, RoutingPlan, route
from services.handover.domain.referrals import OPEN, AnswerRefused, ReferralStatus


class HandoverState(StrEnum):
    OPEN = "open"
    RELEASED = "released"  # agencies still answer (a first appointment attended after release)
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


# After release the agencies still answer (e.g. first appointment attended); not after withdrawal or recall.
ANSWERABLE = frozenset({HandoverState.OPEN, HandoverState.RELEASED})

# Safety alerts that need the prison to act: its healthcare team gets a notification with version 1.
PRISON_ACTION_ALERTS = UNROUTED_ALERTS | {"mental_health_referral_withheld"}


class ReferralState(Protocol):
    """What the rules read of a referral."""

    @property
    def agency_code(self) -> str: ...
    @property
    def referral_kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def reporting(self) -> str | None: ...


def is_live(referral: ReferralState) -> bool:
    """An open referral asking an agency to act (a notification to the prison asks nothing)."""
    return referral.status in OPEN and referral.referral_kind != ReferralKind.NOTIFICATION


def confirmed_reporting(referrals: Iterable[ReferralState]) -> ReportingInstructions | None:
    """Probation's confirmed reporting instructions, when it has confirmed them."""
    for referral in referrals:
        if (
            referral.referral_kind == ReferralKind.REPORTING_INSTRUCTIONS
            and referral.reporting
            and referral.status == ReferralStatus.ACCEPTED
        ):
            return ReportingInstructions.model_validate_json(referral.reporting)
    return None


def with_confirmed_reporting(notice: ReleaseNoticeV1, referrals: Iterable[ReferralState]) -> ReleaseNoticeV1:
    """The notice with probation's confirmed reporting instructions in place of the prison's draft."""
    confirmed = confirmed_reporting(referrals)
    return notice if confirmed is None else notice.model_copy(update={"reporting_instructions": confirmed})


def effective_notice(notice: ReleaseNoticeV1, referrals: Iterable[ReferralState]) -> ReleaseNoticeV1:
    """What the pack says: probation's confirmed reporting instructions over the prison's draft, and none that
    are before the release date (stale: probation is asked to confirm again, by name, not silently)."""
    effective = with_confirmed_reporting(notice, referrals)
    reporting = effective.reporting_instructions
    if reporting is not None and reporting.report_at.date() < effective.release.date:
        return effective.model_copy(update={"reporting_instructions": None})
    return effective


def plan_from_referrals(
    notice: ReleaseNoticeV1, directory: Sequence[AgencyRecord], referrals: Iterable[ReferralState]
) -> RoutingPlan:
    """The routing as it stands: live referrals keep their agency; kinds without one are routed afresh."""
    fresh = route(notice, directory)
    by_code = {agency.code: agency for agency in directory}
    routed: list[Routed] = []
    for referral in referrals:
        agency = by_code.get(referral.agency_code)
        if is_live(referral) and agency is not None:
            routed.append(Routed(ReferralKind(referral.referral_kind), agency, referral.reason))
    kinds = {item.kind for item in routed}
    routed += [item for item in fresh.routed if item.kind not in kinds]
    unrouted = tuple(item for item in fresh.unrouted if item.kind not in kinds)
    return RoutingPlan(area=fresh.area, routed=tuple(routed), unrouted=unrouted)


def check_report_at(reporting: ReportingInstructions | None, release_date: date) -> None:
    """Probation cannot confirm a reporting time before the person is released."""
    if reporting is not None and reporting.report_at.date() < release_date:
        raise AnswerRefused("report_at is before the release date", "reporting_instructions.report_at")


def escalation_recipients(
    *,
    why: str,
    area: Area,
    directory: Iterable[AgencyRecord],
    prison: AgencyRecord | None,
    rejected_by: str,
) -> list[Recipient]:
    """Whom a referral that no agency can take is escalated to: the establishment's prison healthcare and every
    other active RECONNECT covering the area (each told, none asked to take the referral over)."""
    recipients: list[Recipient] = []
    if prison is not None:
        recipients.append(
            Recipient(
                prison.code,
                prison.kind,
                prison.name,
                ReferralKind.NOTIFICATION,
                f"escalation to prison healthcare: {why}; no other eligible agency",
            )
        )
    recipients += [
        Recipient(
            agency.code,
            agency.kind,
            agency.name,
            ReferralKind.NOTIFICATION,
            f"escalation to RECONNECT covering the area: {why}; no other eligible agency",
        )
        for agency in directory
        if agency.kind == AgencyKind.RECONNECT
        and agency.active
        and agency.code != rejected_by
        and (agency.covers_district(area.postcode_district) or agency.covers_authority(area.local_authority))
    ]
    return recipients


def escalation_note(kind: ReferralKind, rejected_by: str, cause: str | None) -> str:
    """What the escalation's recipients are told."""
    if cause is None:
        return (
            f"Escalation: the {kind.value} referral was rejected by {rejected_by} and no other eligible agency "
            "covers the area. Please arrange care directly."
        )
    return (
        f"Escalation: the {kind.value} referral could not be delivered ({cause}) and no other eligible "
        "agency covers the area. Please arrange care directly."
    )


def rejection_reason(agency_code: str, reason_code: str | None, reason_text: str | None) -> str:
    why = f"{agency_code} rejected the referral ({reason_code}"
    return why + (f": {reason_text})" if reason_text else ")")


def custody_fields_kept(
    before: ReleaseNoticeV1, corrected: ReleaseNoticeV1, decided: set[Decides | None]
) -> ReleaseNoticeV1:
    """The release date and where the person is belong to the custody log once an event of the case has
    decided them: a correction of other parts (say, the probation practitioner) does not undo them."""
    update: dict[str, object] = {}
    if Decides.RELEASE_DATE in decided:
        update["release"] = corrected.release.model_copy(update={"date": before.release.date})
    if Decides.WHERE in decided:
        update["establishment_code"] = before.establishment_code
        update["prison_contact"] = before.prison_contact
    return corrected.model_copy(update=update) if update else corrected
