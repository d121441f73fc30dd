"""Read models: readiness of a release, the establishment's departures ("departure lounge"), an agency's
worklist. Readiness is computed on reading, from the referrals, so it is always as of now."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, tuple_
from sqlmodel import col, select

from contracts.handover import HandoverPack, ReferralKind
from contracts.release_notice import ReleaseNoticeV1
from services.common.db import Database
from services.handover.domain.readiness import ReferralFacts, ReleaseFacts, ReleaseReadiness, assess
from services.handover.domain.referrals import OPEN, ReferralStatus
from services.handover.domain.routing import needed_referrals
from services.handover.models import Handover, HandoverVersion, Referral
from services.handover.service import sections_json


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
    return assess(release_facts(notice, pack, referrals, registration_days), now=now, at_risk_hours=at_risk_hours)


@dataclass(frozen=True)
class Departure:
    handover: Handover
    pack: HandoverPack
    referrals: list[Referral]
    readiness: ReleaseReadiness


@dataclass(frozen=True)
class LoungePage:
    """One page of the departure lounge; ``after`` is the key of its last release when there are more."""

    departures: list[Departure]
    after: tuple[date, str, str] | None


PRISON_NUMBER_START = re.compile(r"^[A-Za-z]\d{0,4}[A-Za-z]{0,2}$")


def _named(handover: Handover, words: list[str]) -> bool:
    """Every word of the search is in the person's given or family name (any case)."""
    notice = json.loads(handover.notice)
    name = f"{notice.get('given_name', '')} {notice.get('family_name', '')}".casefold()
    return all(word in name for word in words)


async def departures(
    *,
    database: Database,
    establishment_code: str,
    start: date,
    end: date,
    now: datetime,
    at_risk_hours: float,
    registration_days: int,
    limit: int = 100,
    after: tuple[date, str, str] | None = None,
    search: str | None = None,
    state: str = "open",
) -> LoungePage:
    """Open releases of an establishment in a window, by date then prison number, ``limit`` at a time after
    ``after`` (keyset paging, so a page costs the same wherever it is). ``search`` matches the start of a
    prison number, or words of the person's name. ``state="released"`` gives those already released instead (the
    lounge's "recently released", with the readiness they left with)."""
    query = (
        select(Handover)
        .where(Handover.establishment_code == establishment_code, Handover.state == state)
        .where(col(Handover.release_date) >= start, col(Handover.release_date) <= end)
        .order_by(col(Handover.release_date), col(Handover.prison_number), col(Handover.id))
    )
    words: list[str] = []
    if search and PRISON_NUMBER_START.match(search.strip()):
        query = query.where(col(Handover.prison_number).startswith(search.strip().upper(), autoescape=True))
    elif search:
        words = search.casefold().split()
        for word in words:  # a cheap filter on the stored notice; the name itself is checked below
            query = query.where(func.lower(col(Handover.notice)).contains(word, autoescape=True))
    chosen: list[Handover] = []
    async with database.session() as session:
        key = after
        while len(chosen) <= limit:
            batch_query = query
            if key is not None:
                batch_query = batch_query.where(
                    tuple_(col(Handover.release_date), col(Handover.prison_number), col(Handover.id)) > tuple_(*key)
                )
            batch = (await session.exec(batch_query.limit(limit + 1))).all()
            chosen.extend(handover for handover in batch if not words or _named(handover, words))
            if len(batch) <= limit:
                break
            key = (batch[-1].release_date, batch[-1].prison_number, batch[-1].id)
        more = len(chosen) > limit
        chosen = chosen[:limit]
        ids = [handover.id for handover in chosen]
        versions = {
            (v.handover_id, v.version): v
            for v in (await session.exec(select(HandoverVersion).where(col(HandoverVersion.handover_id).in_(ids))))
        }
        referrals: dict[str, list[Referral]] = {handover_id: [] for handover_id in ids}
        for referral in await session.exec(
            select(Referral)
            .where(col(Referral.handover_id).in_(ids))
            .order_by(col(Referral.created_at), col(Referral.id))
        ):
            referrals[referral.handover_id].append(referral)
    found = []
    for handover in chosen:
        pack = HandoverPack.model_validate_json(versions[(handover.id, handover.current_version)].pack)
        notice = ReleaseNoticeV1.model_validate_json(handover.notice)
        mine = referrals[handover.id]
        readiness = readiness_of(
            notice, pack, mine, now=now, at_risk_hours=at_risk_hours, registration_days=registration_days
        )
        found.append(Departure(handover, pack, mine, readiness))
    last = chosen[-1] if chosen and more else None
    return LoungePage(found, (last.release_date, last.prison_number, last.id) if last else None)


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
