"""Read models: readiness of a release, the establishment's departures ("departure lounge"), an agency's
worklist. Readiness is computed on reading, from the referrals, so it is always as of now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select

from contracts.handover import HandoverPack, ReferralKind
from contracts.release_notice import ReleaseNoticeV1
from services.common.db import Database
from services.handover.domain.readiness import ReferralFacts, ReleaseFacts, ReleaseReadiness, assess
from services.handover.domain.referrals import OPEN, ReferralStatus
from services.handover.domain.routing import needed_referrals
from services.handover.models import Handover, HandoverVersion, Referral
from services.handover.service import referrals_of, sections_json


def release_facts(
    notice: ReleaseNoticeV1, pack: HandoverPack, referrals: list[Referral], registration_days: int
) -> ReleaseFacts:
    needs = set(needed_referrals(notice))
    blocked: dict[ReferralKind, str] = {}
    if pack.mental_health is not None and pack.mental_health.referral == "withheld":
        needs.add(ReferralKind.MENTAL_HEALTH)
        blocked[ReferralKind.MENTAL_HEALTH] = pack.mental_health.withheld_reason or "withheld"
    kinds_asked = {r.referral_kind for r in referrals}
    for alert in pack.safety_alerts:
        if alert.code in ("no_agency_covers", "registered_gp_unreachable"):
            kind = ReferralKind(alert.section)
            if kind.value not in kinds_asked:
                blocked[kind] = alert.detail
    return ReleaseFacts(
        release_date=notice.release.date,
        registration_needed=notice.registered_gp is None,
        medications=list(notice.medications),
        needs=frozenset(needs),
        referrals=[
            ReferralFacts(
                ReferralKind(r.referral_kind),
                ReferralStatus(r.status),
                r.first_appointment_at,
                r.report_at,
                r.delivery_status,
                r.delivery_detail,
                r.invalidated_reason,
            )
            for r in referrals
            if r.referral_kind != ReferralKind.NOTIFICATION
        ],
        blocked=blocked,
        registration_days=registration_days,
    )


def readiness_of(
    notice: ReleaseNoticeV1,
    pack: HandoverPack,
    referrals: list[Referral],
    *,
    now: datetime,
    at_risk_hours: float,
    registration_days: int,
) -> ReleaseReadiness:
    return assess(
        release_facts(notice, pack, referrals, registration_days), now=now, at_risk_hours=at_risk_hours
    )


@dataclass(frozen=True)
class Departure:
    handover: Handover
    pack: HandoverPack
    referrals: list[Referral]
    readiness: ReleaseReadiness


async def departures(
    *,
    database: Database,
    establishment_code: str,
    start: date,
    end: date,
    now: datetime,
    at_risk_hours: float,
    registration_days: int,
) -> list[Departure]:
    async with database.session() as session:
        handovers = (
            await session.exec(
                select(Handover)
                .where(Handover.establishment_code == establishment_code, Handover.state == "open")
                .where(col(Handover.release_date) >= start, col(Handover.release_date) <= end)
                .order_by(col(Handover.release_date), col(Handover.prison_number))
            )
        ).all()
        found = []
        for handover in handovers:
            version = await session.get(HandoverVersion, (handover.id, handover.current_version))
            assert version is not None
            pack = HandoverPack.model_validate_json(version.pack)
            referrals = await referrals_of(session, handover.id)
            notice = ReleaseNoticeV1.model_validate_json(handover.notice)
            found.append(
                Departure(
                    handover,
                    pack,
                    referrals,
                    readiness_of(
                        notice,
                        pack,
                        referrals,
                        now=now,
                        at_risk_hours=at_risk_hours,
                        registration_days=registration_days,
                    ),
                )
            )
    return found


@dataclass(frozen=True)
class WorkItem:
    referral: Referral
    handover: Handover
    sent: dict[str, Any]


async def worklist(*, database: Database, agency_code: str) -> list[WorkItem]:
    """Referrals addressed to the agency still to act on, soonest release first; with only its sections."""
    async with database.session() as session:
        rows = (
            await session.exec(
                select(Referral, Handover)
                .join(Handover, col(Handover.id) == col(Referral.handover_id))
                .where(Referral.agency_code == agency_code, col(Handover.state).in_(["open", "released"]))
                .where(col(Referral.status).in_([status.value for status in OPEN]))
                .order_by(col(Handover.release_date), col(Referral.created_at))
            )
        ).all()
    return [WorkItem(referral, handover, sections_json(referral)) for referral, handover in rows]
