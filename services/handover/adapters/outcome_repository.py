"""SQL side of the outcomes dataset: reading what a case ended with, keeping the snapshot and the escalations,
reading the report's inputs. The repository is bound into handover's unit of work, so a release and its snapshot
commit together or not at all; the report reads through a unit of work of its own."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.answers import Answer
from contracts.handover import HandoverPack, ReferralKind
from contracts.release_notice import ReleaseNoticeV1
from services.common.db import UtcDateTime, table_of
from services.common.sql import execute
from services.handover.adapters.outcome_tables import (
    ReferralDelivered,
    ReferralEscalationRecord,
    ReleaseOutcomeRecord,
)
from services.handover.adapters.tables import Handover, HandoverVersion, Referral, ReferralAnswer
from services.handover.domain.outcomes import (
    Ending,
    EscalationCause,
    ReferralEscalation,
    ReferralOutcome,
    ReleaseOutcome,
)
from services.handover.domain.readiness import Item, Readiness, readiness_facts
from services.handover.domain.referrals import ReferralStatus
from services.handover.usecases.outcomes import CaseAtEnd

# A referral cancelled with this reason code was routed on to the next agency (services.handover.deliveries).
UNDELIVERABLE = "undeliverable"


def _record(outcome: ReleaseOutcome) -> ReleaseOutcomeRecord:
    return ReleaseOutcomeRecord(
        handover_id=outcome.handover_id,
        prison_number=outcome.prison_number,
        establishment_code=outcome.establishment_code,
        release_date=outcome.release_date,
        ending=outcome.ending.value,
        items=json.dumps({item.value: status.value for item, status in outcome.items}),
        recorded_at=outcome.recorded_at,
    )


def _outcome(row: ReleaseOutcomeRecord) -> ReleaseOutcome:
    return ReleaseOutcome(
        handover_id=row.handover_id,
        prison_number=row.prison_number,
        establishment_code=row.establishment_code,
        release_date=row.release_date,
        ending=Ending(row.ending),
        recorded_at=row.recorded_at,
        items=tuple((Item(item), Readiness(status)) for item, status in json.loads(row.items).items()),
    )


def _note_delivered() -> Any:
    """The first delivery of each of a handover's referrals to an agency, in one INSERT ... SELECT (three per
    notice): a referral noted already keeps its first time."""
    referral, noted = table_of(Referral), table_of(ReferralDelivered)
    waiting = (
        select(referral.c.id, bindparam("at", type_=UtcDateTime()))
        .select_from(referral.outerjoin(noted, noted.c.referral_id == referral.c.id))
        .where(
            referral.c.handover_id == bindparam("handover_id"),
            referral.c.agency_code == bindparam("agency_code"),
            noted.c.referral_id.is_(None),
        )
    )
    return insert(noted).from_select(["referral_id", "delivered_at"], waiting)


# Built once: every delivered referral's outcome runs it.
_NOTE_DELIVERED = _note_delivered()


class SqlOutcomeRepository:
    def __init__(self, session: AsyncSession, registration_days: int) -> None:
        self._session, self._registration_days = session, registration_days

    async def case_at_end(self, handover_id: str) -> CaseAtEnd | None:
        handover = await self._session.get(Handover, handover_id)
        if handover is None:
            return None
        version = await self._session.get(HandoverVersion, (handover.id, handover.current_version))
        assert version is not None
        referrals = list(
            (
                await self._session.exec(
                    select(Referral).where(Referral.handover_id == handover_id).order_by(col(Referral.created_at))
                )
            ).all()
        )
        notice = ReleaseNoticeV1.model_validate_json(handover.notice)
        pack = HandoverPack.model_validate_json(version.pack)
        facts = readiness_facts(notice, pack, referrals, self._registration_days)
        return CaseAtEnd(handover.id, handover.prison_number, handover.establishment_code, facts)

    async def get(self, handover_id: str) -> ReleaseOutcome | None:
        row = await self._session.get(ReleaseOutcomeRecord, handover_id)
        return None if row is None else _outcome(row)

    async def add(self, outcome: ReleaseOutcome) -> None:
        self._session.add(_record(outcome))

    async def note_delivered(self, handover_id: str, agency_code: str, at: datetime) -> None:
        await execute(
            self._session, _NOTE_DELIVERED, {"handover_id": handover_id, "agency_code": agency_code, "at": at}
        )

    async def note_delivered_many(self, delivered: Sequence[tuple[str, str, datetime]]) -> None:
        """``note_delivered`` of each, in order (a referral noted by an earlier one keeps its time), one statement
        run for many rows."""
        if delivered:
            rows = [{"handover_id": h, "agency_code": a, "at": at} for h, a, at in delivered]
            await execute(self._session, _NOTE_DELIVERED, rows)

    async def note_escalations(self, escalations: list[ReferralEscalation]) -> None:
        for escalation in escalations:
            key = (escalation.escalation_id, escalation.referral_id)
            if await self._session.get(ReferralEscalationRecord, key) is None:
                self._session.add(
                    ReferralEscalationRecord(
                        escalation_id=escalation.escalation_id,
                        referral_id=escalation.referral_id,
                        handover_id=escalation.handover_id,
                        agency_code=escalation.agency_code,
                        cause=escalation.cause.value,
                        escalated_at=escalation.escalated_at,
                    )
                )

    async def ended_between(
        self, start: datetime, end: datetime, establishments: frozenset[str] | None
    ) -> list[ReleaseOutcome]:
        query = select(ReleaseOutcomeRecord).where(
            col(ReleaseOutcomeRecord.recorded_at) >= start, col(ReleaseOutcomeRecord.recorded_at) < end
        )
        if establishments is not None:
            query = query.where(col(ReleaseOutcomeRecord.establishment_code).in_(sorted(establishments)))
        return [_outcome(row) for row in (await self._session.exec(query)).all()]

    async def referral_outcomes(self, handover_ids: list[str], agency: str | None) -> list[ReferralOutcome]:
        query = select(Referral, ReferralDelivered).join(
            ReferralDelivered, col(ReferralDelivered.referral_id) == col(Referral.id), isouter=True
        )
        query = query.where(col(Referral.handover_id).in_(handover_ids))
        query = query.where(Referral.referral_kind != ReferralKind.NOTIFICATION.value)
        if agency is not None:
            query = query.where(Referral.agency_code == agency)
        rows = (await self._session.exec(query)).all()
        answers: dict[str, list[ReferralAnswer]] = defaultdict(list)
        ids = [referral.id for referral, _ in rows]
        for answer in await self._session.exec(
            select(ReferralAnswer)
            .where(col(ReferralAnswer.referral_id).in_(ids))
            .order_by(col(ReferralAnswer.answered_at))
        ):
            answers[answer.referral_id].append(answer)
        causes: dict[str, set[EscalationCause]] = defaultdict(set)
        for escalation in await self._session.exec(
            select(ReferralEscalationRecord).where(col(ReferralEscalationRecord.referral_id).in_(ids))
        ):
            causes[escalation.referral_id].add(EscalationCause(escalation.cause))
        return [
            _referral_outcome(referral, delivered, answers[referral.id], frozenset(causes[referral.id]))
            for referral, delivered in rows
        ]


def _referral_outcome(
    referral: Referral,
    delivered: ReferralDelivered | None,
    answers: list[ReferralAnswer],
    escalations: frozenset[EscalationCause],
) -> ReferralOutcome:
    led_to = [json.loads(answer.outcome) for answer in answers]
    rejections = [json.loads(answer.body) for answer in answers if answer.answer == Answer.REJECTED.value]
    undeliverable = referral.status == ReferralStatus.CANCELLED.value and referral.reason_code == UNDELIVERABLE
    return ReferralOutcome(
        handover_id=referral.handover_id,
        agency_code=referral.agency_code,
        agency_kind=referral.agency_kind,
        delivered_at=delivered.delivered_at if delivered is not None else None,
        first_answer_at=answers[0].answered_at if answers else None,
        rejection_reason=(rejections[-1].get("reason_code") or "unspecified") if rejections else None,
        rerouted=undeliverable or any(outcome.get("rerouted_to") for outcome in led_to),
        escalated=any(outcome.get("escalated_to") for outcome in led_to),
        escalations=escalations,
        referral_id=referral.id,
        attended=referral.attended if referral.status == ReferralStatus.COMPLETED.value else None,
    )
