"""The notifier's referral-side repositories in memory: watched referrals, escalations, what is known of each
handover, and the directory copy."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from services.notifier.adapters.tables import (
    DirectoryEndpoint,
    Escalation,
    HandoverFact,
    ReferralWatch,
)


class FakeWatches:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], ReferralWatch] = {}
        self.facts: dict[str, HandoverFact] = {}

    def _row(self, handover_id: str, agency_code: str) -> ReferralWatch:
        key = (handover_id, agency_code)
        return self.rows.setdefault(
            key, ReferralWatch(id=len(self.rows) + 1, handover_id=handover_id, agency_code=agency_code)
        )

    async def watch(
        self, handover_id: str, agency_code: str, *, agency_kind: str, subject: str, delivered_at: datetime
    ) -> None:
        row = self._row(handover_id, agency_code)
        if row.delivered_at is None:
            row.agency_kind, row.subject, row.delivered_at = agency_kind, subject, delivered_at

    async def rearm(self, handover_id: str, agency_code: str, *, agency_kind: str, subject: str, now: datetime) -> None:
        row = self._row(handover_id, agency_code)
        row.agency_kind, row.subject, row.delivered_at = agency_kind, subject, now
        row.answered_at, row.answer, row.settled = None, None, False

    async def settle_agency(self, handover_id: str, agency_code: str) -> None:
        if (handover_id, agency_code) in self.rows:
            self.rows[(handover_id, agency_code)].settled = True

    async def settle(self, watch_id: int) -> None:
        next(row for row in self.rows.values() if row.id == watch_id).settled = True

    async def answer(
        self, handover_id: str, agency_code: str, *, subject: str | None, answered_at: datetime, answer: str
    ) -> None:
        row = self._row(handover_id, agency_code)
        row.subject = row.subject or subject
        if row.answered_at is None:
            row.answered_at, row.answer = answered_at, answer

    async def unanswered(
        self, *, delivered_by: datetime, release_by: date, limit: int
    ) -> list[tuple[ReferralWatch, HandoverFact | None]]:
        found = []
        for row in self.rows.values():
            fact = self.facts.get(row.handover_id)
            if row.settled or row.delivered_at is None or row.answered_at is not None:
                continue
            soon = fact is not None and (
                fact.withdrawn or (fact.release_date is not None and fact.release_date <= release_by)
            )
            if row.delivered_at <= delivered_by or soon:
                found.append((row, fact))
        return found[:limit]

    async def of_handover(self, handover_id: str) -> list[ReferralWatch]:
        return [row for row in self.rows.values() if row.handover_id == handover_id]


class FakeEscalations:
    def __init__(self) -> None:
        self.rows: list[Escalation] = []
        self.facts: dict[str, HandoverFact] = {}

    async def done(self, handover_ids: Collection[str]) -> set[tuple[str, str, str]]:
        return {
            (row.handover_id, row.agency_code, row.deadline) for row in self.rows if row.handover_id in handover_ids
        }

    async def claim(self, escalation: Escalation) -> bool:
        key = (escalation.handover_id, escalation.agency_code, escalation.deadline)
        if key in await self.done({escalation.handover_id}):
            return False
        self.rows.append(escalation)
        return True

    async def set_told(self, handover_id: str, deadline: str, agency_codes: list[str], told: str) -> None:
        for row in self.rows:
            if row.handover_id == handover_id and row.deadline == deadline and row.agency_code in agency_codes:
                row.told = told

    async def with_facts(
        self, *, handover_id: str | None, establishments: Collection[str] | None, limit: int
    ) -> list[tuple[Escalation, HandoverFact | None]]:
        found = [(row, self.facts.get(row.handover_id)) for row in self.rows]
        found = [(row, fact) for row, fact in found if handover_id is None or row.handover_id == handover_id]
        if establishments is not None:
            found = [
                (row, fact) for row, fact in found if fact is not None and fact.establishment_code in establishments
            ]
        return found[:limit]


class FakeHandoverFacts:
    def __init__(self, facts: dict[str, HandoverFact]) -> None:
        self.facts = facts

    async def get(self, handover_id: str) -> HandoverFact | None:
        return self.facts.get(handover_id)

    async def remember(self, handover_id: str, *, withdrawn: bool, facts: dict[str, object]) -> None:
        known = self.facts.get(handover_id)
        if known is None:
            self.facts[handover_id] = HandoverFact(handover_id=handover_id, withdrawn=withdrawn, **facts)  # type: ignore[arg-type]
            return
        for key, value in facts.items():
            if value is not None:
                setattr(known, key, value)
        known.withdrawn = known.withdrawn or withdrawn


class FakeDirectoryEntries:
    def __init__(self) -> None:
        self.rows: dict[str, DirectoryEndpoint] = {}

    async def get(self, code: str) -> DirectoryEndpoint | None:
        return self.rows.get(code)

    def save(self, entry: DirectoryEndpoint) -> None:
        self.rows[entry.code] = entry

    async def all(self) -> list[DirectoryEndpoint]:
        return list(self.rows.values())
