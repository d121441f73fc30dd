"""Escalation rules, pure: which deliveries are referrals awaiting an answer, which answers count, when each
deadline falls, and what a pack event says about where and when the person is released.

Readers of pack events are tolerant on purpose: the pack event is growing a ``distribution`` list (one entry
per agency, with its minimised sections), so the facts are looked for wherever a ``release`` section appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.answers import Answer
from contracts.delivery import EscalationDeadline
from services.notifier.domain.agencies import AgencyKind

REFERRAL_KINDS = frozenset(
    {
        AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM,
        AgencyKind.RECONNECT,
        AgencyKind.SUBSTANCE_MISUSE_SERVICE,
        AgencyKind.PROBATION_DELIVERY_UNIT,
    }
)
# "received" only says the agency has it; the referral is answered when it is accepted, rejected, completed or
# (probation) its reporting instructions confirmed. A rejection is handled (re-routed) by the handover service.
ANSWERS_THAT_COUNT = frozenset({Answer.ACCEPTED, Answer.REJECTED, Answer.COMPLETED, Answer.CONFIRMED})
# A re-routed referral is a new request to the next agency: it awaits an answer as an issued pack does.
REFERRAL_WEBHOOK_TYPES = frozenset({"handover.pack.issued", "handover.pack.amended", "handover.referral.rerouted"})
NOT_AWAITING_ANSWER = "notification"  # the referral kind of what the prison (or RECONNECT) is only told


def _dicts_under(data: Any, key: str) -> Iterator[dict[str, Any]]:
    """Every dict value stored under ``key`` anywhere in ``data``, outermost first."""
    if isinstance(data, dict):
        found = data.get(key)
        if isinstance(found, dict):
            yield found
        for value in data.values():
            yield from _dicts_under(value, key)
    elif isinstance(data, list):
        for item in data:
            yield from _dicts_under(item, key)


def gp_registration_requested(payload: dict[str, Any]) -> bool:
    return any(section.get("registration_needed") is True for section in _dicts_under(payload, "gp_practice"))


def is_referral(*, agency_kind: str, webhook_type: str, payload: dict[str, Any]) -> bool:
    """A pack sent to an agency that must answer: a referral kind, or a GP practice asked to register the person."""
    if webhook_type not in REFERRAL_WEBHOOK_TYPES:
        return False
    data = payload.get("data")
    referral_kind = data.get("referral_kind") if isinstance(data, dict) else None
    if referral_kind is not None:  # a distribution entry says what it asks of the agency
        if referral_kind == NOT_AWAITING_ANSWER:
            return False
        return referral_kind != "gp_registration" or gp_registration_requested(payload)
    if agency_kind in REFERRAL_KINDS:
        return True
    return agency_kind == AgencyKind.GP_PRACTICE and gp_registration_requested(payload)


def entry_of(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    return data if isinstance(data, dict) else {}


def awaits_answer_again(payload: dict[str, Any]) -> bool:
    """An amended entry that names an answer of the agency the change invalidated: it must answer again, so
    its referral is watched again from this delivery."""
    return bool(entry_of(payload).get("invalidated"))


def withdrawn_from_agency(payload: dict[str, Any]) -> bool:
    """An entry withdrawing the agency's part (e.g. the address moved out of its area): nothing to answer."""
    return entry_of(payload).get("message") == "withdrawn"


def answer_counts(answer: str) -> bool:
    return answer in ANSWERS_THAT_COUNT


@dataclass(frozen=True)
class ReleaseFacts:
    establishment_code: str | None = None
    release_date: date | None = None
    district: str | None = None
    local_authority: str | None = None


def release_facts(data: dict[str, Any]) -> ReleaseFacts:
    for release in _dicts_under(data, "release"):
        if "date" not in release:
            continue
        destination = release.get("destination") or {}
        address = destination.get("address") or {}
        postcode = address.get("postcode")
        try:
            when = date.fromisoformat(str(release["date"]))
        except ValueError:
            when = None
        return ReleaseFacts(
            establishment_code=release.get("establishment_code"),
            release_date=when,
            district=postcode.strip().upper().split(" ")[0] if postcode else None,
            local_authority=address.get("local_authority") or destination.get("last_known_local_authority"),
        )
    return ReleaseFacts()


@dataclass(frozen=True)
class Deadlines:
    after_delivery: timedelta
    before_release: timedelta
    timezone: str = "Europe/London"


def deadlines(
    *, delivered_at: datetime, release_date: date | None, rules: Deadlines, not_before: datetime | None = None
) -> list[tuple[EscalationDeadline, datetime]]:
    """When an unanswered referral escalates: ``after_delivery`` after it was delivered, and ``before_release``
    before the start of the release day (local time); each deadline escalates once.

    No deadline falls before ``not_before`` (the referral reached the agency, so the notice had been received
    by then: ``delivered_at`` when not given). A notice received a few hours before release would otherwise
    carry a deadline in its past, which reads as though someone had been told and did nothing; clamped, it is
    due at once, and the escalation says so truthfully."""
    floor = delivered_at if not_before is None else max(not_before, delivered_at)
    found = [(EscalationDeadline.AFTER_DELIVERY, max(floor, delivered_at + rules.after_delivery))]
    if release_date is not None:
        day_starts = datetime.combine(release_date, time(0, 0), tzinfo=ZoneInfo(rules.timezone))
        found.append((EscalationDeadline.BEFORE_RELEASE, max(floor, day_starts - rules.before_release)))
    return found


def due(
    *, delivered_at: datetime, release_date: date | None, rules: Deadlines, now: datetime
) -> list[tuple[EscalationDeadline, datetime]]:
    return [
        (kind, at)
        for kind, at in deadlines(delivered_at=delivered_at, release_date=release_date, rules=rules)
        if at <= now
    ]


# The readiness item (as the handover service names it) an unanswered referral of each agency kind holds up.
ITEM_OF_KIND = {
    AgencyKind.GP_PRACTICE: "gp",
    AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM: "mental_health_referral",
    AgencyKind.RECONNECT: "mental_health_referral",
    AgencyKind.SUBSTANCE_MISUSE_SERVICE: "substance_misuse_referral",
    AgencyKind.PROBATION_DELIVERY_UNIT: "reporting_instructions",
}


def outstanding_item(agency_kind: str | None) -> str:
    """What the prison is told is outstanding when an agency of this kind has not answered."""
    try:
        return ITEM_OF_KIND.get(AgencyKind(agency_kind or ""), "referral")
    except ValueError:
        return "referral"


@dataclass(frozen=True)
class Due:
    """One referral's deadline that has passed without an answer."""

    handover_id: str
    agency_code: str
    deadline: EscalationDeadline
    due_at: datetime


def one_message_per_deadline(found: list[Due]) -> dict[tuple[str, EscalationDeadline], list[Due]]:
    """Group what is due into messages: one per handover (so per person) and deadline, naming every agency
    outstanding at it, rather than one message per referral that floods the prison with the same news."""
    groups: dict[tuple[str, EscalationDeadline], list[Due]] = {}
    for item in sorted(found, key=lambda d: (d.handover_id, d.deadline.value, d.due_at, d.agency_code)):
        groups.setdefault((item.handover_id, item.deadline), []).append(item)
    return groups
