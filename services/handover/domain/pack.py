"""Building a handover pack from a release notice and the routing of its referrals (pure)."""

from __future__ import annotations

from typing import Literal

from contracts.handover import (
    AgencyRef,
    Contacts,
    DistributionListItem,
    GpPractice,
    HandoverPack,
    MentalHealthReferral,
    PatientDemographics,
    ReferralKind,
    ReleaseDetails,
    SafetyAlert,
    SubstanceMisuseSection,
)
from contracts.release_notice import ReleaseNoticeV1
from services.handover.domain.medication import prescriber_takes_over, supply_gaps
from services.handover.domain.referral_routing import RoutingPlan

NO_CONSENT = (
    "No consent to share: no mental-health referral has been sent. "
    "The prison healthcare contact has been told "
    "so that consent can be sought again or care arranged another way."
)


def gp_practice(notice: ReleaseNoticeV1, plan: RoutingPlan) -> GpPractice:
    """A known practice is carried over; without one, the practice covering the area is asked to register
    the person (no fixed abode included: routed by last local authority or the prison's area)."""
    routed = plan.agency_for(ReferralKind.GP_REGISTRATION)
    requested = None
    if notice.registered_gp is None and routed is not None:
        requested = AgencyRef(code=routed.agency.code, kind=routed.agency.kind, name=routed.agency.name)
    return GpPractice(
        registered=notice.registered_gp,
        registration_needed=notice.registered_gp is None,
        registration_requested_from=requested,
    )


def mental_health(notice: ReleaseNoticeV1) -> MentalHealthReferral | None:
    if notice.mental_health is None:
        return None
    consent = notice.mental_health.consent_to_share
    return MentalHealthReferral(
        **notice.mental_health.model_dump(),
        referral="requested" if consent else "withheld",
        withheld_reason=None if consent else NO_CONSENT,
    )


def substance_misuse(notice: ReleaseNoticeV1, plan: RoutingPlan) -> SubstanceMisuseSection | None:
    if notice.substance_misuse is None:
        return None
    status: Literal["requested", "withheld", "no_service"]
    if not notice.substance_misuse.consent_to_refer:
        status = "withheld"
    else:
        status = "requested" if plan.agency_for(ReferralKind.SUBSTANCE_MISUSE) else "no_service"
    return SubstanceMisuseSection(**notice.substance_misuse.model_dump(), referral=status)


def safety_alerts(notice: ReleaseNoticeV1, plan: RoutingPlan, *, registration_days: int) -> list[SafetyAlert]:
    needed_until = prescriber_takes_over(
        release_date=notice.release.date,
        registration_needed=notice.registered_gp is None,
        registration_days=registration_days,
    )
    alerts = supply_gaps(notice.medications, release_date=notice.release.date, needed_until=needed_until)
    opioid = [m for m in notice.medications if m.opioid_substitution]
    if opioid and plan.agency_for(ReferralKind.SUBSTANCE_MISUSE) is None:
        alerts.append(
            SafetyAlert(
                code="opioid_substitution_continuity",
                section="medications",
                detail="Opioid substitution therapy with no referral to a local substance-misuse service: "
                "arrange "
                "the next dose before release",
            )
        )
    if notice.mental_health is not None and not notice.mental_health.consent_to_share:
        alerts.append(SafetyAlert(code="mental_health_referral_withheld", section="mental_health", detail=NO_CONSENT))
    for gap in plan.unrouted:
        alerts.append(SafetyAlert(code=gap.code, section=gap.kind.value, detail=gap.detail))
    return alerts


def build_pack(
    notice: ReleaseNoticeV1,
    plan: RoutingPlan,
    *,
    registration_days: int = 3,
    distribution_list: list[DistributionListItem] | None = None,
) -> HandoverPack:
    return HandoverPack(
        patient_demographics=PatientDemographics(
            prison_number=notice.prison_number,
            nhs_number=notice.nhs_number,
            given_name=notice.given_name,
            family_name=notice.family_name,
            date_of_birth=notice.date_of_birth,
        ),
        release=ReleaseDetails(
            establishment_code=notice.establishment_code,
            date=notice.release.date,
            type=notice.release.type,
            destination=notice.release.destination,
        ),
        gp_practice=gp_practice(notice, plan),
        allergies_and_adverse_reactions=list(notice.allergies),
        medications=list(notice.medications),
        safety_alerts=safety_alerts(notice, plan, registration_days=registration_days),
        mental_health=mental_health(notice),
        substance_misuse=substance_misuse(notice, plan),
        reporting_instructions=notice.reporting_instructions,
        contacts=Contacts(prison_healthcare=notice.prison_contact, reconnect_navigator=notice.reconnect_navigator),
        legal_information=notice.legal_information,
        person_completing_record=notice.prison_contact,
        distribution_list=distribution_list or [],
    )
