"""Handover's repositories: the only place that writes SQL. Each works inside the unit of work's session;
``add`` flushes, so that rows that others reference by key exist before the next statement."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import and_, bindparam, func, literal_column, or_, tuple_, update
from sqlalchemy import select as select_columns
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.common.sql import execute
from services.handover.adapters.tables import (
    CustodyEventRecord,
    Handover,
    HandoverVersion,
    Person,
    Referral,
    ReferralAnswer,
)
from services.handover.domain.case import HandoverState
from services.handover.domain.custody import CustodyOutcome
from services.handover.domain.referrals import OPEN
from services.handover.usecases.ports import LoungeQuery

LIVE_STATES = [HandoverState.OPEN.value, HandoverState.RELEASED.value]
OPEN_STATUSES = [status.value for status in OPEN]


# Statements every new notice runs, built once (building them cost about as much as running them).
_OF_NOTICE_AND_OPEN = select(Handover).where(
    or_(
        col(Handover.notice_id) == bindparam("notice"),
        and_(col(Handover.prison_number) == bindparam("person"), col(Handover.state) == HandoverState.OPEN.value),
    )
)
_HELD_OF_PERSON = (
    select(CustodyEventRecord)
    .where(
        col(CustodyEventRecord.prison_number) == bindparam("person"),
        col(CustodyEventRecord.outcome) == CustodyOutcome.HELD.value,
    )
    .order_by(col(CustodyEventRecord.sequence))
)


_HANDOVERS, _REFERRALS = table_of(Handover), table_of(Referral)
# A plain delivery marks the agency's open referrals of the handover (as record_delivery_outcome does one by one),
# run once per (handover, agency): through the index of both columns, as open_of_agency reads them. (One statement
# with a row-value IN made SQLite read every referral.) The open statuses are constants, written into the SQL so
# that the statement can run for many rows at once.
_MARK_DELIVERED = (
    update(_REFERRALS)
    .where(
        _REFERRALS.c.handover_id == bindparam("h"),
        _REFERRALS.c.agency_code == bindparam("a"),
        _REFERRALS.c.status.in_([literal_column(f"'{status}'") for status in OPEN_STATUSES]),
    )
    .values(delivery_status="delivered", delivery_detail=None)
)


class SqlHandovers:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_existing(self, handover_ids: Sequence[str]) -> set[str]:
        """Which of ``handover_ids`` exist, each locked as ``get(lock=True)`` locks it; in the order of their ids,
        so that writers locking several at once never wait on each other in a circle."""
        if not handover_ids:
            return set()
        query = (
            select_columns(_HANDOVERS.c.id)
            .where(_HANDOVERS.c.id.in_(sorted(set(handover_ids))))
            .order_by(_HANDOVERS.c.id)
            .with_for_update()
        )
        return {str(row[0]) for row in await execute(self._session, query)}

    async def get(self, handover_id: str, *, lock: bool = False) -> Handover | None:
        return await self._session.get(Handover, handover_id, with_for_update=True if lock else None)

    async def add(self, handover: Handover) -> None:
        self._session.add(handover)
        await self._session.flush()

    async def of_notice(self, notice_id: str, *, lock: bool = False) -> Handover | None:
        query = select(Handover).where(Handover.notice_id == notice_id)
        return (await self._session.exec(query.with_for_update() if lock else query)).first()

    async def all_of_notice(self, notice_id: str) -> list[Handover]:
        query = select(Handover).where(Handover.notice_id == notice_id).order_by(col(Handover.created_at))
        return list((await self._session.exec(query)).all())

    async def open_of_person(self, prison_number: str) -> list[Handover]:
        query = select(Handover).where(
            Handover.prison_number == prison_number, Handover.state == HandoverState.OPEN.value
        )
        return list((await self._session.exec(query)).all())

    async def of_notice_and_open_of_person(
        self, notice_id: str, prison_number: str
    ) -> tuple[Handover | None, list[Handover]]:
        """The notice's handover (if opened already) and the person's open ones, in one statement: the two
        questions every new notice asks first."""
        found = list(
            (await self._session.execute(_OF_NOTICE_AND_OPEN, {"notice": notice_id, "person": prison_number})).scalars()
        )
        of_notice = next((h for h in found if h.notice_id == notice_id), None)
        return of_notice, [h for h in found if h.prison_number == prison_number and h.state == HandoverState.OPEN]

    async def latest_of_person(self, prison_number: str) -> Handover | None:
        """The person's latest case, locked: answers to its referrals wait until the caller commits."""
        query = (
            select(Handover)
            .where(Handover.prison_number == prison_number)
            .order_by(col(Handover.created_at).desc())
            .with_for_update()
        )
        return (await self._session.exec(query)).first()

    async def establishments_of_person(self, prison_number: str) -> set[str]:
        query = select(Handover.establishment_code).where(Handover.prison_number == prison_number)
        return set((await self._session.exec(query)).all())

    async def version(self, handover_id: str, version: int) -> HandoverVersion | None:
        return await self._session.get(HandoverVersion, (handover_id, version))

    async def versions(self, handover_ids: Sequence[str]) -> dict[tuple[str, int], HandoverVersion]:
        query = select(HandoverVersion).where(col(HandoverVersion.handover_id).in_(handover_ids))
        return {(v.handover_id, v.version): v for v in await self._session.exec(query)}

    async def add_version(self, version: HandoverVersion) -> None:
        self._session.add(version)

    async def lounge(self, wanted: LoungeQuery, named: Callable[[Handover], bool]) -> tuple[list[Handover], bool]:
        """Up to ``limit`` releases after ``after``, and whether there are more. ``named`` checks the person's
        name in the stored notice; the SQL filter on the words is only a cheap first cut."""
        query = (
            select(Handover)
            .where(Handover.establishment_code == wanted.establishment_code, Handover.state == wanted.state.value)
            .where(col(Handover.release_date) >= wanted.start, col(Handover.release_date) <= wanted.end)
            .order_by(col(Handover.release_date), col(Handover.prison_number), col(Handover.id))
        )
        if wanted.prison_number_start is not None:
            query = query.where(col(Handover.prison_number).startswith(wanted.prison_number_start, autoescape=True))
        for word in wanted.name_words:
            query = query.where(func.lower(col(Handover.notice)).contains(word, autoescape=True))
        chosen: list[Handover] = []
        key, limit = wanted.after, wanted.limit
        while len(chosen) <= limit:
            batch_query = query
            if key is not None:
                batch_query = batch_query.where(
                    tuple_(col(Handover.release_date), col(Handover.prison_number), col(Handover.id)) > tuple_(*key)
                )
            batch = (await self._session.exec(batch_query.limit(limit + 1))).all()
            chosen.extend(handover for handover in batch if not wanted.name_words or named(handover))
            if len(batch) <= limit:
                break
            key = (batch[-1].release_date, batch[-1].prison_number, batch[-1].id)
        return chosen[:limit], len(chosen) > limit


class SqlReferrals:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, referral_id: str) -> Referral | None:
        return await self._session.get(Referral, referral_id)

    async def reload(self, referral: Referral) -> None:
        """Read ``referral`` again as committed (after taking a lock another writer held)."""
        await self._session.refresh(referral)

    async def add(self, *referrals: Referral) -> None:
        """Not flushed here: a new referral is written once its entry is recorded on it (``record_sent``), one
        INSERT with its final values rather than an INSERT and an UPDATE each. Its handover is flushed already
        (``SqlHandovers.add``), and the next query or the unit of work's end writes it."""
        self._session.add_all(referrals)

    async def of_handover(self, handover_id: str) -> list[Referral]:
        query = (
            select(Referral)
            .where(Referral.handover_id == handover_id)
            .order_by(col(Referral.created_at), col(Referral.id))
        )
        return list((await self._session.exec(query)).all())

    async def of_handovers(self, handover_ids: Sequence[str]) -> dict[str, list[Referral]]:
        found: dict[str, list[Referral]] = {handover_id: [] for handover_id in handover_ids}
        query = (
            select(Referral)
            .where(col(Referral.handover_id).in_(handover_ids))
            .order_by(col(Referral.created_at), col(Referral.id))
        )
        for referral in await self._session.exec(query):
            found[referral.handover_id].append(referral)
        return found

    async def open_of_agency(self, handover_id: str, agency_code: str) -> list[Referral]:
        query = (
            select(Referral)
            .where(col(Referral.handover_id) == handover_id, col(Referral.agency_code) == agency_code)
            .where(col(Referral.status).in_(OPEN_STATUSES))
            .order_by(col(Referral.created_at), col(Referral.id))
        )
        return list((await self._session.exec(query)).all())

    async def mark_delivered(self, handovers_and_agencies: Sequence[tuple[str, str]]) -> None:
        """Mark delivered the open referrals of each (handover, agency), in one statement. The referrals this
        session holds already are given the same values as loaded ones (the statement wrote them; an ORM object
        would otherwise keep its old delivery status for the rest of the transaction)."""
        pairs = sorted(set(handovers_and_agencies))
        if not pairs:
            return
        await execute(
            self._session, _MARK_DELIVERED, [{"h": handover_id, "a": agency} for handover_id, agency in pairs]
        )
        wanted = set(pairs)
        for held in list(self._session.identity_map.values()):
            if isinstance(held, Referral) and (held.handover_id, held.agency_code) in wanted:
                if held.status in OPEN_STATUSES:
                    set_committed_value(held, "delivery_status", "delivered")
                    set_committed_value(held, "delivery_detail", None)

    async def worklist(self, agency_code: str) -> list[tuple[Referral, Handover]]:
        query = (
            select(Referral, Handover)
            .join(Handover, col(Handover.id) == col(Referral.handover_id))
            .where(Referral.agency_code == agency_code, col(Handover.state).in_(LIVE_STATES))
            .where(col(Referral.status).in_(OPEN_STATUSES))
            .order_by(col(Handover.release_date), col(Referral.created_at))
        )
        return [(referral, handover) for referral, handover in (await self._session.exec(query)).all()]

    async def last_answer(self, referral_id: str) -> ReferralAnswer | None:
        query = (
            select(ReferralAnswer)
            .where(ReferralAnswer.referral_id == referral_id)
            .order_by(col(ReferralAnswer.id).desc())
        )
        return (await self._session.exec(query)).first()

    async def add_answer(self, answer: ReferralAnswer) -> None:
        self._session.add(answer)


class SqlCustodyLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def person(self, prison_number: str) -> Person | None:
        return await self._session.get(Person, prison_number)

    async def save_person(self, person: Person) -> None:
        self._session.add(person)

    async def add(self, row: CustodyEventRecord) -> None:
        self._session.add(row)

    async def of_person(self, prison_number: str) -> list[CustodyEventRecord]:
        query = (
            select(CustodyEventRecord)
            .where(CustodyEventRecord.prison_number == prison_number)
            .order_by(col(CustodyEventRecord.recorded_at))
        )
        return list((await self._session.exec(query)).all())

    async def held_of_person(self, prison_number: str) -> list[CustodyEventRecord]:
        return list((await self._session.execute(_HELD_OF_PERSON, {"person": prison_number})).scalars())

    async def applied_to(self, handover_id: str, sequences: Sequence[int] | None = None) -> list[CustodyEventRecord]:
        query = select(CustodyEventRecord).where(
            CustodyEventRecord.handover_id == handover_id,
            CustodyEventRecord.outcome == CustodyOutcome.APPLIED.value,
        )
        if sequences is not None:
            query = query.where(col(CustodyEventRecord.sequence).in_(sequences))
        return list((await self._session.exec(query)).all())
