"""Agencies whose systems speak FHIR choose it in the directory (``webhook.format: fhir``): each message to them
carries, next to its sections, the same sections as a FHIR R4 document Bundle (``fhir``), made by the same
mapping as `GET /v1/handovers/{id}/fhir` from exactly what that agency is sent. The notifier signs and sends
the entry as it is."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

import structlog
from fhir.resources.R4B.bundle import Bundle

from contracts.handover import DistributionEntry
from services.handover.adapters.tables import Referral
from services.handover.domain.fhir import bundle
from services.handover.domain.fhir_model import FhirReferral, Reading
from services.handover.domain.referrals import ReferralStatus
from services.handover.usecases.ports import HandoverUnitOfWork

log = structlog.get_logger()


def fhir_referral(referral: Referral) -> FhirReferral:
    told = {f.name: getattr(referral, f.name) for f in fields(FhirReferral) if f.name != "referral_id"}
    return FhirReferral(referral_id=referral.id, **told)


def _just_asked(entry: DistributionEntry, at: datetime) -> FhirReferral:
    """A referral made in this very transaction and not yet stored."""
    return FhirReferral(
        referral_id=entry.referral_id or "",
        agency_kind=entry.agency_kind.value,
        referral_kind=entry.referral_kind.value,
        status=ReferralStatus.REQUESTED.value,
        created_at=at,
        updated_at=at,
        **entry.model_dump(include={"agency_code", "agency_name", "reason"}),
    )


async def _with_bundle(uow: HandoverUnitOfWork, entry: DistributionEntry, at: datetime) -> DistributionEntry:
    referral = await uow.referrals.get(entry.referral_id) if entry.referral_id else None
    reading = Reading(
        handover_id=entry.handover_id,
        version=entry.version,
        issued_at=at,
        audience=entry.agency_kind.value,
        sections=entry.pack,
        referrals=(
            (fhir_referral(referral) if referral is not None else _just_asked(entry, at),) if entry.referral_id else ()
        ),
    )
    document = bundle(reading)
    try:
        Bundle.model_validate(document)
    except ValueError:  # never expected; the JSON sections still go, and the error is there to be seen
        log.error("fhir.bundle_invalid", handover_id=entry.handover_id, agency=entry.agency_code)
        return entry
    return entry.model_copy(update={"fhir": document})


async def with_fhir(
    uow: HandoverUnitOfWork, entries: list[DistributionEntry], *, at: datetime
) -> list[DistributionEntry]:
    """``entries`` with a FHIR Bundle in the entry of each agency that chose FHIR (the rest unchanged)."""
    if not entries:
        return entries
    records = await uow.directory.records({e.agency_code for e in entries})
    wanted = {r.code for r in records if r.webhook is not None and r.webhook.format == "fhir"}
    return [await _with_bundle(uow, e, at) if e.agency_code in wanted else e for e in entries]
