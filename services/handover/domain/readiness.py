"""Readiness of a release (design notes §2): per section done, pending or at risk. Pure.

A section is at risk when it is not done and the release is within the at-risk window (48 h by default),
or when it is blocked whatever the date: every agency asked has rejected (escalated), none covers the area,
a mental-health referral is withheld for want of consent, or the referral never reached its agency (the
notifier failed or dead-lettered its delivery). An answer that a change invalidated says so in the detail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from contracts.handover import HandoverPack, ReferralKind
from contracts.release_notice import Medication, ReleaseNoticeV1
from services.handover.domain.medication import prescriber_takes_over, supply_gaps
from services.handover.domain.referral_routing import needed_referrals
from services.handover.domain.referrals import ReferralStatus


class Readiness(StrEnum):
    DONE = "done"
    PENDING = "pending"
    AT_RISK = "at_risk"


class Item(StrEnum):
    GP = "gp"
    MEDICATION = "medication"
    MENTAL_HEALTH = "mental_health_referral"
    SUBSTANCE_MISUSE = "substance_misuse_referral"
    REPORTING = "reporting_instructions"


@dataclass(frozen=True)
class ReferralProgress:
    kind: ReferralKind
    status: ReferralStatus
    first_appointment_at: datetime | None = None
    report_at: datetime | None = None
    delivery: str | None = None  # the notifier's last word on the webhook: delivered, failed, dead_lettered
    delivery_detail: str | None = None
    invalidated: str | None = None  # why its earlier answer no longer holds (it is asked again)


@dataclass(frozen=True)
class ReadinessFacts:
    release_date: date
    registration_needed: bool
    medications: Sequence[Medication]
    needs: frozenset[ReferralKind]
    referrals: Sequence[ReferralProgress]
    blocked: dict[ReferralKind, str] = field(default_factory=dict)
    registration_days: int = 3


@dataclass(frozen=True)
class ItemReadiness:
    item: Item
    status: Readiness
    detail: str


@dataclass(frozen=True)
class ReleaseReadiness:
    status: Readiness
    items: tuple[ItemReadiness, ...]


# Deliveries the notifier has given up on (or that failed for good): the agency does not have the referral.
UNDELIVERED = frozenset({"failed", "dead_lettered"})

_ITEM_OF = {
    ReferralKind.GP_REGISTRATION: Item.GP,
    ReferralKind.MENTAL_HEALTH: Item.MENTAL_HEALTH,
    ReferralKind.SUBSTANCE_MISUSE: Item.SUBSTANCE_MISUSE,
    ReferralKind.REPORTING_INSTRUCTIONS: Item.REPORTING,
}


def release_starts(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _referral_done(
    kind: ReferralKind, referral: ReferralProgress, release_date: date, registration_needed: bool
) -> bool:
    if kind == ReferralKind.GP_REGISTRATION:
        wanted = {ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED}
        if not registration_needed:
            wanted.add(ReferralStatus.RECEIVED)
        return referral.status in wanted
    if kind == ReferralKind.REPORTING_INSTRUCTIONS:
        return (
            referral.status == ReferralStatus.ACCEPTED
            and referral.report_at is not None
            and referral.report_at.date() >= release_date
        )
    if referral.status == ReferralStatus.COMPLETED:
        return True
    return (
        referral.status == ReferralStatus.ACCEPTED
        and referral.first_appointment_at is not None
        and referral.first_appointment_at.date() >= release_date
    )


def _referral_item(kind: ReferralKind, facts: ReadinessFacts) -> tuple[bool, str, bool]:
    """(done, detail, blocked) for one needed referral kind."""
    if kind in facts.blocked:
        return False, facts.blocked[kind], True
    mine = [r for r in facts.referrals if r.kind == kind]
    if any(_referral_done(kind, r, facts.release_date, facts.registration_needed) for r in mine):
        return True, "answered", False
    live = [r for r in mine if r.status not in (ReferralStatus.REJECTED, ReferralStatus.CANCELLED)]
    if mine and not live:
        return False, "every agency asked has rejected it: escalated to the prison and RECONNECT", True
    if any(r.status == ReferralStatus.ACCEPTED for r in live):
        return False, "accepted, but the appointment or reporting date is before the release date", False
    undelivered = [r for r in live if r.delivery in UNDELIVERED]
    if undelivered and len(undelivered) == len(live):
        why = undelivered[0].delivery_detail or undelivered[0].delivery
        return False, f"the referral never reached the agency ({why}): it cannot answer", True
    asked_again = [r.invalidated for r in live if r.invalidated and r.status == ReferralStatus.REQUESTED]
    if asked_again:
        return False, f"{asked_again[0]}; awaiting the agency's new answer", False
    return False, "awaiting the agency's answer", False


def assess(facts: ReadinessFacts, *, now: datetime, at_risk_hours: float = 48) -> ReleaseReadiness:
    near = now >= release_starts(facts.release_date) - timedelta(hours=at_risk_hours)
    items: list[ItemReadiness] = []

    def add(item: Item, done: bool, detail: str, blocked: bool = False) -> None:
        status = Readiness.DONE if done else Readiness.AT_RISK if (blocked or near) else Readiness.PENDING
        items.append(ItemReadiness(item, status, detail))

    for kind in (
        ReferralKind.GP_REGISTRATION,
        ReferralKind.MENTAL_HEALTH,
        ReferralKind.SUBSTANCE_MISUSE,
        ReferralKind.REPORTING_INSTRUCTIONS,
    ):
        if kind in facts.needs:
            add(_ITEM_OF[kind], *_referral_item(kind, facts))
        if kind == ReferralKind.GP_REGISTRATION:
            appointments = [
                r.first_appointment_at.date()
                for r in facts.referrals
                if r.first_appointment_at is not None
                and r.status in (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)
                and r.kind != ReferralKind.REPORTING_INSTRUCTIONS
            ]
            needed_until = prescriber_takes_over(
                release_date=facts.release_date,
                registration_needed=facts.registration_needed,
                registration_days=0 if _gp_registered(facts) else facts.registration_days,
                first_appointments=appointments,
            )
            gaps = supply_gaps(facts.medications, release_date=facts.release_date, needed_until=needed_until)
            add(
                Item.MEDICATION,
                not gaps,
                "; ".join(g.detail for g in gaps) or "supply lasts until a prescriber takes over",
            )
    overall = (
        Readiness.DONE
        if all(i.status == Readiness.DONE for i in items)
        else Readiness.AT_RISK
        if any(i.status == Readiness.AT_RISK for i in items)
        else Readiness.PENDING
    )
    return ReleaseReadiness(overall, tuple(items))


def _gp_registered(facts: ReadinessFacts) -> bool:
    """Registration counts as complete once the practice has accepted it."""
    return any(
        r.kind == ReferralKind.GP_REGISTRATION and r.status in (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)
        for r in facts.referrals
    )


class ReferralRecord(Protocol):
    """What readiness reads of a stored referral."""

    @property
    def referral_kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def first_appointment_at(self) -> datetime | None: ...
    @property
    def report_at(self) -> datetime | None: ...
    @property
    def delivery_status(self) -> str | None: ...
    @property
    def delivery_detail(self) -> str | None: ...
    @property
    def invalidated_reason(self) -> str | None: ...


# Safety alerts that leave a referral kind without any agency: the item is blocked until one is asked.
UNROUTED_ALERTS = frozenset({"no_agency_covers", "registered_gp_unreachable"})


def readiness_facts(
    notice: ReleaseNoticeV1, pack: HandoverPack, referrals: Iterable[ReferralRecord], registration_days: int
) -> ReadinessFacts:
    """What readiness is decided from: the needed referrals, those blocked whatever the date (consent
    withheld, no agency), and every referral's progress (notifications to the prison are not referrals)."""
    referrals = list(referrals)
    needs = set(needed_referrals(notice))
    blocked: dict[ReferralKind, str] = {}
    if pack.mental_health is not None and pack.mental_health.referral == "withheld":
        needs.add(ReferralKind.MENTAL_HEALTH)
        blocked[ReferralKind.MENTAL_HEALTH] = pack.mental_health.withheld_reason or "withheld"
    kinds_asked = {r.referral_kind for r in referrals}
    for alert in pack.safety_alerts:
        if alert.code in UNROUTED_ALERTS:
            kind = ReferralKind(alert.section)
            if kind.value not in kinds_asked:
                blocked[kind] = alert.detail
    return ReadinessFacts(
        release_date=notice.release.date,
        registration_needed=notice.registered_gp is None,
        medications=list(notice.medications),
        needs=frozenset(needs),
        referrals=[
            ReferralProgress(
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
    referrals: Iterable[ReferralRecord],
    *,
    now: datetime,
    at_risk_hours: float,
    registration_days: int,
) -> ReleaseReadiness:
    return assess(readiness_facts(notice, pack, referrals, registration_days), now=now, at_risk_hours=at_risk_hours)
