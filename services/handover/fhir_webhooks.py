"""Agencies whose systems speak FHIR choose it in the directory (``webhook.format: fhir``): each message to them
carries, next to its sections, the same sections as a FHIR R4 document Bundle (``fhir``), made by the same
mapping as `GET /v1/handovers/{id}/fhir` from exactly what that agency is sent. The notifier signs and sends
the entry as it is."""

from __future__ import annotations

from datetime import datetime

import structlog
from fhir.resources.R4B.bundle import Bundle
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.handover import DistributionEntry
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.fhir import Reading, ReferralFacts, bundle
from services.handover.models import DirectoryAgency, Referral

log = structlog.get_logger()


async def fhir_agencies(session: AsyncSession, codes: set[str]) -> set[str]:
    """Which of ``codes`` want FHIR: their directory entry's webhook says ``format: fhir``."""
    rows = (await session.exec(select(DirectoryAgency).where(col(DirectoryAgency.code).in_(codes)))).all()
    records = [AgencyRecord.model_validate_json(row.record) for row in rows]
    return {r.code for r in records if r.webhook is not None and r.webhook.format == "fhir"}


def _facts(referral: Referral) -> ReferralFacts:
    return ReferralFacts(
        referral_id=referral.id,
        agency_code=referral.agency_code,
        agency_kind=referral.agency_kind,
        agency_name=referral.agency_name,
        referral_kind=referral.referral_kind,
        status=referral.status,
        reason=referral.reason,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        first_appointment_at=referral.first_appointment_at,
        first_appointment_place=referral.first_appointment_place,
        reason_code=referral.reason_code,
        reason_text=referral.reason_text,
        attended=referral.attended,
    )


def _unsaved(entry: DistributionEntry, at: datetime) -> ReferralFacts:
    """A referral made in this very transaction, not yet flushed: just asked."""
    return ReferralFacts(
        referral_id=entry.referral_id or "",
        agency_code=entry.agency_code,
        agency_kind=entry.agency_kind.value,
        agency_name=entry.agency_name,
        referral_kind=entry.referral_kind.value,
        status="requested",
        reason=entry.reason,
        created_at=at,
        updated_at=at,
    )


async def _with_bundle(session: AsyncSession, entry: DistributionEntry, at: datetime) -> DistributionEntry:
    referral = await session.get(Referral, entry.referral_id) if entry.referral_id else None
    reading = Reading(
        handover_id=entry.handover_id,
        version=entry.version,
        issued_at=at,
        audience=entry.agency_kind.value,
        sections=entry.pack,
        referrals=(_facts(referral) if referral is not None else _unsaved(entry, at),) if entry.referral_id else (),
    )
    document = bundle(reading)
    try:
        Bundle.model_validate(document)
    except ValueError:  # never expected; the JSON sections still go, and the error is there to be seen
        log.error("fhir.bundle_invalid", handover_id=entry.handover_id, agency=entry.agency_code)
        return entry
    return entry.model_copy(update={"fhir": document})


async def with_fhir(
    session: AsyncSession, entries: list[DistributionEntry], *, at: datetime
) -> list[DistributionEntry]:
    """``entries`` with a FHIR Bundle in the entry of each agency that chose FHIR (the rest unchanged)."""
    wanted = await fhir_agencies(session, {e.agency_code for e in entries}) if entries else set()
    return [await _with_bundle(session, e, at) if e.agency_code in wanted else e for e in entries]
