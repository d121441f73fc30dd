"""The outcomes dataset: how ready each person was on the day their case ended, and what agencies did with the
referrals of those releases. Pure: plain data in, plain data out.

Readiness is computed on reading everywhere else, so it drifts as answers arrive after the release; the
snapshot taken when a release is recorded (or the case withdrawn) keeps what was true on the day, which is
what "ready before release" has to mean. The report groups by the month the case ended, the establishment and
the agency, as one flat list of figures (the same rows as JSON and as CSV).

Percentiles use the nearest-rank method (the smallest time with at least p% of the times at or below it), so
every figure is a time that was actually observed and can be checked by hand.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from services.handover.domain.readiness import Item, Readiness, ReadinessFacts, assess


class Ending(StrEnum):
    """How a case ended: the person was released, or the handover was withdrawn (with the withdrawal's reason)."""

    RELEASED = "released"
    RELEASE_CANCELLED = "release_cancelled"
    RECALLED = "recalled"
    SUPERSEDED = "superseded"
    NEW_NOTICE_NEEDED = "new_notice_needed"


class Measure(StrEnum):
    RELEASES = "releases"
    WITHDRAWN = "withdrawn"
    READY_BEFORE_RELEASE = "ready_before_release"
    ANSWER_HOURS_MEDIAN = "answer_hours_median"
    ANSWER_HOURS_P90 = "answer_hours_p90"
    REJECTIONS = "rejections"
    REROUTES = "reroutes"
    ESCALATIONS = "escalations"
    FIRST_APPOINTMENTS_ATTENDED = "first_appointments_attended"


class EscalationCause(StrEnum):
    """Why a referral was escalated to the prison and RECONNECT outside an answer: a deadline passed without
    one (the notifier's), or its pack could not be delivered and no other agency could take it (handover's)."""

    AFTER_DELIVERY = "after_delivery"
    BEFORE_RELEASE = "before_release"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True)
class ReferralEscalation:
    """One referral named by one escalation: kept so the dataset can say which referrals fell through."""

    escalation_id: str
    referral_id: str
    handover_id: str
    agency_code: str
    cause: EscalationCause
    escalated_at: datetime


@dataclass(frozen=True)
class ReleaseOutcome:
    """The kept snapshot of one case's end: readiness per item as it stood at that moment."""

    handover_id: str
    prison_number: str
    establishment_code: str
    release_date: date
    ending: Ending
    recorded_at: datetime
    items: tuple[tuple[Item, Readiness], ...]

    @property
    def month(self) -> str:
        return self.recorded_at.strftime("%Y-%m")


def snapshot(
    *,
    handover_id: str,
    prison_number: str,
    establishment_code: str,
    facts: ReadinessFacts,
    ending: Ending,
    now: datetime,
) -> ReleaseOutcome:
    """Readiness of the release at ``now`` (the moment of release or withdrawal), item by item."""
    readiness = assess(facts, now=now)
    return ReleaseOutcome(
        handover_id=handover_id,
        prison_number=prison_number,
        establishment_code=establishment_code,
        release_date=facts.release_date,
        ending=ending,
        recorded_at=now,
        items=tuple((item.item, item.status) for item in readiness.items),
    )


@dataclass(frozen=True)
class ReferralOutcome:
    """What became of one referral of a kept release (answers keep coming after the release: attendance)."""

    handover_id: str
    agency_code: str
    agency_kind: str
    delivered_at: datetime | None = None
    first_answer_at: datetime | None = None
    rejection_reason: str | None = None  # the reason code of its rejection, when it was rejected
    rerouted: bool = False  # its rejection (or failed delivery) sent the referral to the next agency
    escalated: bool = False  # rejected and no other agency: escalated to the prison and RECONNECT
    escalations: frozenset[EscalationCause] = frozenset()  # escalated by a deadline or an undeliverable pack
    attended: bool | None = None  # on its completed answer: the first appointment was attended
    referral_id: str = ""


@dataclass(frozen=True)
class Figure:
    """One figure of the report. ``count`` of ``total`` where it is a share (``value`` is then the share);
    ``value`` in hours for answer times (``count`` the answers it is taken over)."""

    month: str
    establishment: str
    agency_kind: str
    agency: str
    measure: Measure
    key: str
    count: int
    total: int | None = None
    value: float | None = None


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The smallest value with at least ``percent`` % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def _share(count: int, total: int) -> float:
    return round(count / total, 4)


def _release_figures(kept: Iterable[ReleaseOutcome]) -> list[Figure]:
    released: dict[tuple[str, str], int] = defaultdict(int)
    withdrawn: dict[tuple[str, str, str], int] = defaultdict(int)
    needed: dict[tuple[str, str, Item], int] = defaultdict(int)
    ready: dict[tuple[str, str, Item], int] = defaultdict(int)
    for outcome in kept:
        where = (outcome.month, outcome.establishment_code)
        if outcome.ending != Ending.RELEASED:
            withdrawn[(*where, outcome.ending.value)] += 1
            continue
        released[where] += 1
        for item, status in outcome.items:
            needed[(*where, item)] += 1
            ready[(*where, item)] += status == Readiness.DONE
    figures = [Figure(m, e, "", "", Measure.RELEASES, "", n) for (m, e), n in released.items()]
    figures += [Figure(m, e, "", "", Measure.WITHDRAWN, why, n) for (m, e, why), n in withdrawn.items()]
    figures += [
        Figure(
            m,
            e,
            "",
            "",
            Measure.READY_BEFORE_RELEASE,
            item.value,
            ready[(m, e, item)],
            n,
            _share(ready[(m, e, item)], n),
        )
        for (m, e, item), n in needed.items()
    ]
    return figures


def _agency_figures(kept: Iterable[ReleaseOutcome], referrals: Iterable[ReferralOutcome]) -> list[Figure]:
    where_of = {outcome.handover_id: (outcome.month, outcome.establishment_code) for outcome in kept}
    hours: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    counts: dict[tuple[str, str, str, str, Measure, str], int] = defaultdict(int)
    attended: dict[tuple[str, str, str, str], list[bool]] = defaultdict(list)
    for referral in referrals:
        if referral.handover_id not in where_of:
            continue
        month, establishment = where_of[referral.handover_id]
        agency = (month, establishment, referral.agency_kind, referral.agency_code)
        if referral.delivered_at is not None and referral.first_answer_at is not None:
            waited = (referral.first_answer_at - referral.delivered_at).total_seconds() / 3600
            hours[(month, establishment, referral.agency_kind)].append(max(waited, 0.0))
        if referral.rejection_reason is not None:
            counts[(*agency, Measure.REJECTIONS, referral.rejection_reason)] += 1
        if referral.rerouted:
            counts[(*agency, Measure.REROUTES, "")] += 1
        if referral.escalated or referral.escalations:  # once per referral, whichever path and how often
            counts[(*agency, Measure.ESCALATIONS, "")] += 1
        if referral.attended is not None:
            attended[agency].append(referral.attended)
    figures = [Figure(m, e, kind, code, measure, key, n) for (m, e, kind, code, measure, key), n in counts.items()]
    for (m, e, kind), waits in hours.items():
        median = round(statistics.median(waits), 2)
        figures.append(Figure(m, e, kind, "", Measure.ANSWER_HOURS_MEDIAN, "", len(waits), value=median))
        p90 = round(nearest_rank(waits, 90), 2)
        figures.append(Figure(m, e, kind, "", Measure.ANSWER_HOURS_P90, "", len(waits), value=p90))
    for (m, e, kind, code), marks in attended.items():
        went = sum(marks)
        share = _share(went, len(marks))
        figures.append(Figure(m, e, kind, code, Measure.FIRST_APPOINTMENTS_ATTENDED, "", went, len(marks), share))
    return figures


def report(
    kept: Sequence[ReleaseOutcome], referrals: Sequence[ReferralOutcome], *, releases: bool = True
) -> list[Figure]:
    """Every figure over the kept cases and their referrals, in a stable order. ``releases=False`` leaves out the
    establishment's own figures (readiness, releases, withdrawals) and keeps the agencies' only."""
    figures = _agency_figures(kept, referrals)
    if releases:
        figures += _release_figures(kept)
    order = list(Measure)
    return sorted(
        figures, key=lambda f: (f.month, f.establishment, order.index(f.measure), f.agency_kind, f.agency, f.key)
    )
