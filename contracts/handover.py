"""Handover pack, v1: the continuity-of-care document built for one release, and its "issued" event.

Section names follow the PRSB mental-health discharge headings where they overlap.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from contracts.envelope import schema_uri
from contracts.release_notice import (
    Allergy,
    ContractModel,
    Destination,
    Medication,
    MentalHealth,
    PrisonContact,
    RegisteredGp,
    ReleaseType,
)

HANDOVER_PACK_ISSUED_SCHEMA = schema_uri("handover-pack-issued", "1.0")


class PatientDemographics(ContractModel):
    prison_number: str
    nhs_number: str | None = None
    given_name: str
    family_name: str
    date_of_birth: date


class ReleaseDetails(ContractModel):
    establishment_code: str
    date: date
    type: ReleaseType
    destination: Destination


class GpPractice(ContractModel):
    """GP registration: the registered practice, or that a registration is needed."""

    registered: RegisteredGp | None = None
    registration_needed: bool


class HandoverPack(ContractModel):
    patient_demographics: PatientDemographics
    release: ReleaseDetails
    gp_practice: GpPractice
    allergies_and_adverse_reactions: list[Allergy] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    mental_health: MentalHealth | None = None
    person_completing_record: PrisonContact


class HandoverPackIssuedV1(ContractModel):
    handover_id: str
    version: int = Field(ge=1)
    notice_id: str
    issued_at: datetime
    pack: HandoverPack
