"""Use cases of the outcomes dataset: keep the readiness a case ended with, note when a referral reached its
agency, and build the report.

The snapshot is kept in the same transaction as the release or withdrawal it describes (the caller's unit of
work joins that transaction), so a release is never recorded without its place in the dataset. It is kept once:
the first ending of a handover is the one that counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Protocol, Self

from contracts.delivery import DeliveryOutcomeV1
from services.handover.domain.outcomes import (
    Ending,
    Figure,
    ReferralEscalation,
    ReferralOutcome,
    ReleaseOutcome,
    report,
    snapshot,
)
from services.handover.domain.readiness import ReadinessFacts

DELIVERED = "delivered"


@dataclass(frozen=True)
class CaseAtEnd:
    """A handover as it stands when it ends: who, where, and the facts its readiness is assessed from."""

    handover_id: str
    prison_number: str
    establishment_code: str
    facts: ReadinessFacts


class OutcomeRepository(Protocol):
    async def case_at_end(self, handover_id: str) -> CaseAtEnd | None: ...

    async def get(self, handover_id: str) -> ReleaseOutcome | None: ...

    async def add(self, outcome: ReleaseOutcome) -> None: ...

    async def note_delivered(self, handover_id: str, agency_code: str, at: datetime) -> None: ...

    async def note_delivered_many(self, delivered: Sequence[tuple[str, str, datetime]]) -> None: ...

    async def note_escalations(self, escalations: list[ReferralEscalation]) -> None: ...

    async def ended_between(
        self, start: datetime, end: datetime, establishments: frozenset[str] | None
    ) -> list[ReleaseOutcome]: ...

    async def referral_outcomes(self, handover_ids: list[str], agency: str | None) -> list[ReferralOutcome]: ...


class OutcomesUnitOfWork(Protocol):
    @property
    def outcomes(self) -> OutcomeRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


async def keep_outcome(
    *, uow: OutcomesUnitOfWork, handover_id: str, ending: Ending, now: datetime
) -> ReleaseOutcome | None:
    """Keep the readiness of the handover as of ``now``, the moment it ended; the kept one if already kept."""
    async with uow:
        return await record_outcome(outcomes=uow.outcomes, handover_id=handover_id, ending=ending, now=now)


async def record_outcome(
    *, outcomes: OutcomeRepository, handover_id: str, ending: Ending, now: datetime
) -> ReleaseOutcome | None:
    """``keep_outcome`` inside a unit of work the caller already holds: the transaction that records the release
    or the withdrawal, so that the ending and its snapshot commit together."""
    kept = await outcomes.get(handover_id)
    if kept is not None:
        return kept
    case = await outcomes.case_at_end(handover_id)
    if case is None:
        return None
    outcome = snapshot(
        handover_id=case.handover_id,
        prison_number=case.prison_number,
        establishment_code=case.establishment_code,
        facts=case.facts,
        ending=ending,
        now=now,
    )
    await outcomes.add(outcome)
    return outcome


async def note_delivery(*, uow: OutcomesUnitOfWork, outcome: DeliveryOutcomeV1, at: datetime) -> bool:
    """The first webhook reported delivered to an agency about a handover starts its time to answer on each of
    its referrals there (whatever their status by now: an agency may answer before the report comes back)."""
    async with uow:
        return await record_delivery(outcomes=uow.outcomes, outcome=outcome, at=at)


async def record_delivery(*, outcomes: OutcomeRepository, outcome: DeliveryOutcomeV1, at: datetime) -> bool:
    """``note_delivery`` inside the unit of work that records the delivery outcome."""
    if outcome.status != DELIVERED or outcome.handover_id is None:
        return False
    await outcomes.note_delivered(outcome.handover_id, outcome.agency_code, at)
    return True


@dataclass(frozen=True)
class ReportScope:
    """What one reader may see, already narrowed by its filters: ``None`` means every establishment (or agency);
    ``releases`` False leaves the establishments' own figures out (an agency sees only its referrals)."""

    establishments: frozenset[str] | None
    agency: str | None
    releases: bool


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def month_after(month: date) -> datetime:
    return month_start(date(month.year + month.month // 12, month.month % 12 + 1, 1))


async def outcomes_report(
    *, uow: OutcomesUnitOfWork, first_month: date, last_month: date, scope: ReportScope
) -> list[Figure]:
    """The figures of the cases that ended from ``first_month`` to ``last_month`` (whole months, UTC)."""
    async with uow:
        kept = await uow.outcomes.ended_between(month_start(first_month), month_after(last_month), scope.establishments)
        referrals = await uow.outcomes.referral_outcomes([outcome.handover_id for outcome in kept], scope.agency)
    return report(kept, referrals, releases=scope.releases)
