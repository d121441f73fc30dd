"""In-memory repositories and unit of work of handover, for the unit tests of its use cases (no database, no
broker). They hold the same row objects the SQL repositories do, in dicts and lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from contracts.envelope import CloudEvent, EventType, new_event
from contracts.release_notice import ReleaseNoticeSubmittedV1, ReleaseNoticeV1
from services.handover.adapters import tables
from services.handover.domain.case import HandoverState
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.outcomes import EscalationCause, ReferralEscalation, ReferralOutcome, ReleaseOutcome
from services.handover.domain.referrals import OPEN
from services.handover.usecases.open_handover import open_handover
from services.handover.usecases.outcomes import CaseAtEnd
from services.handover.usecases.ports import LoungeQuery
from tests.unit.fakes import FakeUnitOfWork

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SOURCE = "urn:ttg:handover"
LIVE = {HandoverState.OPEN.value, HandoverState.RELEASED.value}


class FakeHandovers:
    def __init__(self) -> None:
        self.rows: dict[str, tables.Handover] = {}
        self.version_rows: dict[tuple[str, int], tables.HandoverVersion] = {}
        self.locked: list[str] = []

    async def get(self, handover_id: str, *, lock: bool = False) -> tables.Handover | None:
        if lock:
            self.locked.append(handover_id)
        return self.rows.get(handover_id)

    async def lock_existing(self, handover_ids: Sequence[str]) -> set[str]:
        found = sorted(set(handover_ids) & set(self.rows))
        self.locked.extend(found)
        return set(found)

    async def add(self, handover: tables.Handover) -> None:
        self.rows[handover.id] = handover

    async def of_notice(self, notice_id: str, *, lock: bool = False) -> tables.Handover | None:
        return next((h for h in self.rows.values() if h.notice_id == notice_id), None)

    async def all_of_notice(self, notice_id: str) -> list[tables.Handover]:
        return [h for h in self.rows.values() if h.notice_id == notice_id]

    async def open_of_person(self, prison_number: str) -> list[tables.Handover]:
        return [h for h in self.rows.values() if h.prison_number == prison_number and h.state == "open"]

    async def of_notice_and_open_of_person(
        self, notice_id: str, prison_number: str
    ) -> tuple[tables.Handover | None, list[tables.Handover]]:
        return await self.of_notice(notice_id), await self.open_of_person(prison_number)

    async def latest_of_person(self, prison_number: str) -> tables.Handover | None:
        mine = [h for h in self.rows.values() if h.prison_number == prison_number]
        return max(mine, key=lambda h: h.created_at) if mine else None

    async def establishments_of_person(self, prison_number: str) -> set[str]:
        return {h.establishment_code for h in self.rows.values() if h.prison_number == prison_number}

    async def version(self, handover_id: str, version: int) -> tables.HandoverVersion | None:
        return self.version_rows.get((handover_id, version))

    async def versions(self, handover_ids: Sequence[str]) -> dict[tuple[str, int], tables.HandoverVersion]:
        return {key: v for key, v in self.version_rows.items() if key[0] in handover_ids}

    async def add_version(self, version: tables.HandoverVersion) -> None:
        self.version_rows[(version.handover_id, version.version)] = version

    async def lounge(
        self, wanted: LoungeQuery, named: Callable[[tables.Handover], bool]
    ) -> tuple[list[tables.Handover], bool]:
        found = sorted(
            (
                h
                for h in self.rows.values()
                if h.establishment_code == wanted.establishment_code
                and h.state == wanted.state.value
                and wanted.start <= h.release_date <= wanted.end
                and (wanted.after is None or (h.release_date, h.prison_number, h.id) > wanted.after)
                and (wanted.prison_number_start is None or h.prison_number.startswith(wanted.prison_number_start))
                and (not wanted.name_words or named(h))
            ),
            key=lambda h: (h.release_date, h.prison_number, h.id),
        )
        return found[: wanted.limit], len(found) > wanted.limit


class FakeReferrals:
    def __init__(self, handovers: FakeHandovers) -> None:
        self.rows: dict[str, tables.Referral] = {}
        self.answers: list[tables.ReferralAnswer] = []
        self._handovers = handovers

    async def get(self, referral_id: str) -> tables.Referral | None:
        return self.rows.get(referral_id)

    async def reload(self, referral: tables.Referral) -> None:
        return None

    async def add(self, *referrals: tables.Referral) -> None:
        self.rows.update({r.id: r for r in referrals})

    async def of_handover(self, handover_id: str) -> list[tables.Referral]:
        return [r for r in self.rows.values() if r.handover_id == handover_id]

    async def of_handovers(self, handover_ids: Sequence[str]) -> dict[str, list[tables.Referral]]:
        return {handover_id: await self.of_handover(handover_id) for handover_id in handover_ids}

    async def open_of_agency(self, handover_id: str, agency_code: str) -> list[tables.Referral]:
        return [r for r in await self.of_handover(handover_id) if r.agency_code == agency_code and r.status in OPEN]

    async def mark_delivered(self, handovers_and_agencies: Sequence[tuple[str, str]]) -> None:
        for handover_id, agency_code in set(handovers_and_agencies):
            for referral in await self.open_of_agency(handover_id, agency_code):
                referral.delivery_status, referral.delivery_detail = "delivered", None

    async def worklist(self, agency_code: str) -> list[tuple[tables.Referral, tables.Handover]]:
        rows = [
            (r, self._handovers.rows[r.handover_id])
            for r in self.rows.values()
            if r.agency_code == agency_code and r.status in OPEN
        ]
        return sorted([(r, h) for r, h in rows if h.state in LIVE], key=lambda pair: pair[1].release_date)

    async def last_answer(self, referral_id: str) -> tables.ReferralAnswer | None:
        return next((a for a in reversed(self.answers) if a.referral_id == referral_id), None)

    async def add_answer(self, answer: tables.ReferralAnswer) -> None:
        self.answers.append(answer)


class FakeCustodyLog:
    def __init__(self) -> None:
        self.rows: list[tables.CustodyEventRecord] = []
        self.people: dict[str, tables.Person] = {}

    async def person(self, prison_number: str) -> tables.Person | None:
        return self.people.get(prison_number)

    async def save_person(self, person: tables.Person) -> None:
        self.people[person.prison_number] = person

    async def add(self, row: tables.CustodyEventRecord) -> None:
        self.rows.append(row)

    async def of_person(self, prison_number: str) -> list[tables.CustodyEventRecord]:
        return [row for row in self.rows if row.prison_number == prison_number]

    async def held_of_person(self, prison_number: str) -> list[tables.CustodyEventRecord]:
        held = [row for row in await self.of_person(prison_number) if row.outcome == "held"]
        return sorted(held, key=lambda row: row.sequence)

    async def applied_to(
        self, handover_id: str, sequences: Sequence[int] | None = None
    ) -> list[tables.CustodyEventRecord]:
        return [
            row
            for row in self.rows
            if row.handover_id == handover_id
            and row.outcome == "applied"
            and (sequences is None or row.sequence in sequences)
        ]


class FakeDirectory:
    def __init__(self, agencies: Sequence[AgencyRecord] = ()) -> None:
        self.rows: dict[str, tables.DirectoryAgency] = {}
        for agency in agencies:
            self.rows[agency.code] = tables.DirectoryAgency(
                code=agency.code,
                kind=agency.kind.value,
                record=agency.model_dump_json(),
                source="file",
                active=agency.active,
                updated_at=NOW,
                revision=1,
            )

    async def active(self) -> list[AgencyRecord]:
        return [AgencyRecord.model_validate_json(row.record) for row in self.rows.values() if row.active]

    async def all(self) -> list[tables.DirectoryAgency]:
        return sorted(self.rows.values(), key=lambda row: row.code)

    async def get(self, code: str) -> tables.DirectoryAgency | None:
        return self.rows.get(code)

    async def save(self, row: tables.DirectoryAgency) -> None:
        self.rows[row.code] = row

    async def count(self) -> int:
        return len(self.rows)

    async def never_announced(self) -> list[tables.DirectoryAgency]:
        return [row for row in self.rows.values() if row.revision == 0]

    async def records(self, codes: set[str]) -> list[AgencyRecord]:
        return [AgencyRecord.model_validate_json(row.record) for code, row in self.rows.items() if code in codes]


class FakeOutcomes:
    def __init__(self) -> None:
        self.cases: dict[str, CaseAtEnd] = {}
        self.kept: dict[str, ReleaseOutcome] = {}
        self.delivered: dict[tuple[str, str], datetime] = {}
        self.referrals: list[ReferralOutcome] = []
        self.escalations: dict[tuple[str, str], ReferralEscalation] = {}

    async def case_at_end(self, handover_id: str) -> CaseAtEnd | None:
        return self.cases.get(handover_id)

    async def get(self, handover_id: str) -> ReleaseOutcome | None:
        return self.kept.get(handover_id)

    async def add(self, outcome: ReleaseOutcome) -> None:
        self.kept[outcome.handover_id] = outcome

    async def note_delivered(self, handover_id: str, agency_code: str, at: datetime) -> None:
        self.delivered.setdefault((handover_id, agency_code), at)

    async def note_delivered_many(self, delivered: Sequence[tuple[str, str, datetime]]) -> None:
        for handover_id, agency_code, at in delivered:
            await self.note_delivered(handover_id, agency_code, at)

    async def note_escalations(self, escalations: list[ReferralEscalation]) -> None:
        for escalation in escalations:
            self.escalations.setdefault((escalation.escalation_id, escalation.referral_id), escalation)

    async def ended_between(
        self, start: datetime, end: datetime, establishments: frozenset[str] | None
    ) -> list[ReleaseOutcome]:
        return [
            o
            for o in self.kept.values()
            if start <= o.recorded_at < end and (establishments is None or o.establishment_code in establishments)
        ]

    async def referral_outcomes(self, handover_ids: list[str], agency: str | None) -> list[ReferralOutcome]:
        causes: dict[str, set[EscalationCause]] = defaultdict(set)
        for escalation in self.escalations.values():
            causes[escalation.referral_id].add(escalation.cause)
        return [
            replace(r, escalations=r.escalations | frozenset(causes[r.referral_id]))
            for r in self.referrals
            if r.handover_id in handover_ids and (agency is None or r.agency_code == agency)
        ]


class FakeHandoverUnitOfWork(FakeUnitOfWork):
    def __init__(self, agencies: Sequence[AgencyRecord] = ()) -> None:
        super().__init__()
        self.handovers = FakeHandovers()
        self.referrals = FakeReferrals(self.handovers)
        self.custody = FakeCustodyLog()
        self.directory = FakeDirectory(agencies)
        self.outcomes = FakeOutcomes()

    def events(self, event_type: EventType) -> list[dict[str, Any]]:
        """The data of the staged events of one type."""
        return [event.data for event in self.outbox.of_type(event_type.value)]


def event_of(event_type: EventType, data: BaseModel, *, subject: str, event_id: str | None = None) -> CloudEvent:
    """An incoming event as a consumer receives it."""
    return new_event(
        type=event_type,
        source="urn:test",
        subject=subject,
        dataschema="urn:test",
        data=data,
        correlation_id="c-1",
        event_id=event_id,
    )


def submitted(notice: ReleaseNoticeV1, notice_id: str = "notice-1") -> CloudEvent:
    data = ReleaseNoticeSubmittedV1(notice_id=notice_id, received_at=NOW, notice=notice)
    return event_of(EventType.RELEASE_NOTICE_SUBMITTED, data, subject=notice.prison_number)


async def opened(uow: FakeHandoverUnitOfWork, notice: ReleaseNoticeV1, notice_id: str = "notice-1") -> tables.Handover:
    """The handover that ``notice`` opens (version 1 issued)."""
    assert await open_handover(uow=uow, event=submitted(notice, notice_id), source=SOURCE, now=NOW, registration_days=3)
    handover = await uow.handovers.of_notice(notice_id)
    assert handover is not None
    return handover


def referral_to(uow: FakeHandoverUnitOfWork, agency_code: str) -> tables.Referral:
    return next(r for r in uow.referrals.rows.values() if r.agency_code == agency_code)
