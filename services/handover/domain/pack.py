"""Building a handover pack from a release notice."""

from __future__ import annotations

from contracts.handover import GpPractice, HandoverPack, PatientDemographics, ReleaseDetails
from contracts.release_notice import ReleaseNoticeV1


def gp_practice(notice: ReleaseNoticeV1) -> GpPractice:
    """A known practice is carried over; without one, registration is needed (no fixed abode included)."""
    return GpPractice(registered=notice.registered_gp, registration_needed=notice.registered_gp is None)


def build_pack(notice: ReleaseNoticeV1) -> HandoverPack:
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
        gp_practice=gp_practice(notice),
        allergies_and_adverse_reactions=list(notice.allergies),
        medications=list(notice.medications),
        mental_health=notice.mental_health,
        person_completing_record=notice.prison_contact,
    )
