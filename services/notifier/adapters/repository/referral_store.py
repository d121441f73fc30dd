"""Referral watches, escalations and the release facts escalation needs, in SQL."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.sql import insert_ignore
from services.notifier.adapters.tables import Escalation, HandoverFact, ReferralWatch


class SqlReferralWatches:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _key(self, handover_id: str, agency_code: str) -> tuple[Any, ...]:
        return (col(ReferralWatch.handover_id) == handover_id, col(ReferralWatch.agency_code) == agency_code)

    async def watch(
        self, handover_id: str, agency_code: str, *, agency_kind: str, subject: str, delivered_at: datetime
    ) -> None:
        """Watch a delivered referral (a watch an early answer created gets its delivery time)."""
        key = {"handover_id": handover_id, "agency_code": agency_code}
        values = {"agency_kind": agency_kind, "subject": subject, "delivered_at": delivered_at}
        if await insert_ignore(self._session, ReferralWatch, {**key, **values}):
            return  # a new watch, delivered_at set
        unset = col(ReferralWatch.delivered_at).is_(None)
        await self._session.exec(
            update(ReferralWatch).where(*self._key(handover_id, agency_code), unset).values(values)
        )

    async def rearm(self, handover_id: str, agency_code: str, *, agency_kind: str, subject: str, now: datetime) -> None:
        """Watch the referral again from ``now``: its earlier answer no longer holds."""
        key = {"handover_id": handover_id, "agency_code": agency_code}
        values = {"agency_kind": agency_kind, "subject": subject, "delivered_at": now}
        await insert_ignore(self._session, ReferralWatch, {**key, **values})
        reset = {"answered_at": None, "answer": None, "settled": False}
        await self._session.exec(
            update(ReferralWatch).where(*self._key(handover_id, agency_code)).values({**values, **reset})
        )

    async def settle_agency(self, handover_id: str, agency_code: str) -> None:
        await self._session.exec(update(ReferralWatch).where(*self._key(handover_id, agency_code)).values(settled=True))

    async def settle(self, watch_id: int) -> None:
        await self._session.exec(update(ReferralWatch).where(col(ReferralWatch.id) == watch_id).values(settled=True))

    async def answer(
        self, handover_id: str, agency_code: str, *, subject: str | None, answered_at: datetime, answer: str
    ) -> None:
        """Note the first answer (it may come before the delivery is recorded: the watch then starts answered)."""
        key = {"handover_id": handover_id, "agency_code": agency_code}
        values = {"answered_at": answered_at, "answer": answer}
        await insert_ignore(self._session, ReferralWatch, {**key, "subject": subject, **values})
        unset = col(ReferralWatch.answered_at).is_(None)
        await self._session.exec(
            update(ReferralWatch).where(*self._key(handover_id, agency_code), unset).values(values)
        )

    async def unanswered(
        self, *, delivered_by: datetime, release_by: date, limit: int
    ) -> list[tuple[ReferralWatch, HandoverFact | None]]:
        """Unsettled, delivered, unanswered watches with a deadline that may have passed (or a withdrawn handover)."""
        query = (
            select(ReferralWatch, HandoverFact)
            .join(HandoverFact, col(HandoverFact.handover_id) == col(ReferralWatch.handover_id), isouter=True)
            .where(col(ReferralWatch.settled).is_(False))
            .where(col(ReferralWatch.delivered_at).is_not(None))
            .where(col(ReferralWatch.answered_at).is_(None))
            .where(
                or_(
                    col(ReferralWatch.delivered_at) <= delivered_by,
                    col(HandoverFact.release_date) <= release_by,
                    col(HandoverFact.withdrawn).is_(True),
                )
            )
            .order_by(col(ReferralWatch.id))
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await self._session.exec(query)).all()]

    async def of_handover(self, handover_id: str) -> list[ReferralWatch]:
        query = select(ReferralWatch).where(ReferralWatch.handover_id == handover_id).order_by(col(ReferralWatch.id))
        return list((await self._session.exec(query)).all())


class SqlEscalations:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def done(self, handover_ids: Collection[str]) -> set[tuple[str, str, str]]:
        """(handover, agency, deadline) of every escalation already made for these handovers."""
        if not handover_ids:
            return set()
        query = select(Escalation).where(col(Escalation.handover_id).in_(set(handover_ids)))
        return {(item.handover_id, item.agency_code, item.deadline) for item in (await self._session.exec(query)).all()}

    async def claim(self, escalation: Escalation) -> bool:
        """Record one referral's escalation for a deadline unless it exists; True when this one is first."""
        return await insert_ignore(self._session, Escalation, escalation.model_dump())

    async def set_told(self, handover_id: str, deadline: str, agency_codes: list[str], told: str) -> None:
        await self._session.exec(
            update(Escalation)
            .where(
                col(Escalation.handover_id) == handover_id,
                col(Escalation.deadline) == deadline,
                col(Escalation.agency_code).in_(agency_codes),
            )
            .values(told=told[:500])
        )

    async def with_facts(
        self, *, handover_id: str | None, establishments: Collection[str] | None, limit: int
    ) -> list[tuple[Escalation, HandoverFact | None]]:
        query = select(Escalation, HandoverFact).join(
            HandoverFact, col(HandoverFact.handover_id) == col(Escalation.handover_id), isouter=True
        )
        if handover_id is not None:
            query = query.where(Escalation.handover_id == handover_id)
        if establishments is not None:
            query = query.where(col(HandoverFact.establishment_code).in_(list(establishments)))
        query = query.order_by(col(Escalation.escalated_at), col(Escalation.agency_code)).limit(limit)
        return [(row[0], row[1]) for row in (await self._session.exec(query)).all()]


class SqlHandoverFacts:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, handover_id: str) -> HandoverFact | None:
        return await self._session.get(HandoverFact, handover_id)

    async def remember(self, handover_id: str, *, withdrawn: bool, facts: dict[str, object]) -> None:
        """Store a handover's facts; on a later event keep what it does not say (and a withdrawal for good)."""
        if await insert_ignore(
            self._session, HandoverFact, {"handover_id": handover_id, "withdrawn": withdrawn, **facts}
        ):
            return
        changes = {key: value for key, value in facts.items() if value is not None}
        if withdrawn:
            changes["withdrawn"] = True
        await self._session.exec(
            update(HandoverFact).where(col(HandoverFact.handover_id) == handover_id).values(**changes)
        )
