"""Deliveries, their attempts and the delivery-level audit view, in SQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.common.sql import execute
from services.common.staged_rows import stage
from services.notifier.adapters.repository.claims import lease_due
from services.notifier.adapters.tables import Delivery, DeliveryAttempt, DeliveryAudit, HandoverFact, attempt_row
from services.notifier.domain.states import HOLDING, REPLAYABLE, DeliveryStatus
from services.notifier.domain.verdict import AttemptResult

_HOLDING = [status.value for status in HOLDING]
_REPLAYABLE = [status.value for status in REPLAYABLE]
_ATTEMPTS = table_of(DeliveryAttempt)


# Built once: a round is concluded after every webhook, and building the statement cost more than running it.
_CONCLUDE_ROUND = (
    update(Delivery)
    .where(
        col(Delivery.seq) == bindparam("round_seq"),
        col(Delivery.status) == DeliveryStatus.PENDING,
        col(Delivery.lease_expires_at) == bindparam("round_lease"),
    )
    .values(
        status=bindparam("status"),
        attempt_count=bindparam("attempt_count"),
        rounds=bindparam("rounds"),
        next_attempt_at=bindparam("next_attempt_at"),
        lease_expires_at=None,
        last_error=bindparam("last_error"),
        finished_at=bindparam("finished_at"),
    )
    .returning(col(Delivery.seq))
)


class SqlDeliveries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, delivery: Delivery) -> None:
        self._session.add(delivery)

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        lease_until: datetime,
        held: Collection[str],
        capacity: Mapping[str, int] | None,
        sending: Collection[int] = (),
    ) -> list[Delivery]:
        """Lease due deliveries not held behind an earlier one about the same person to the same agency, nor
        for a paused or ``held`` endpoint, in order; ``capacity`` caps how many one agency gets (an agency it
        does not name is capped by ``limit`` alone). Deliveries this sender is ``sending`` (their round in
        flight, say when the clock jumped past their lease) are left alone: leasing them again would take the
        lease their round records under, and the round would be dropped and sent again.
        A claim reads only what it may take, however many deliveries wait (``claims.lease_due``)."""
        return await lease_due(
            self._session, now=now, limit=limit, lease_until=lease_until, held=held, capacity=capacity, sending=sending
        )

    def add_attempts(self, delivery_seq: int, attempts: Sequence[tuple[datetime, AttemptResult]]) -> None:
        """Staged, written with the transaction's other attempts in one statement as it commits (nothing reads
        them back before)."""
        for attempted_at, result in attempts:
            stage(self._session, _ATTEMPTS, attempt_row(delivery_seq, attempted_at, result))

    async def conclude_round(
        self,
        delivery_seq: int,
        *,
        leased_until: datetime,
        status: DeliveryStatus,
        attempt_count: int,
        rounds: int,
        next_attempt_at: datetime | None,
        reason: str | None,
        finished_at: datetime | None,
    ) -> bool:
        """Record how a round ended, only while the delivery is still pending under the lease its claim set
        (``leased_until``); False when it is not: the round was recorded already (a batch whose COMMIT succeeded
        but reported an error is recorded again alone), or the lease ran out and another replica claimed it."""
        concluded = await execute(
            self._session,
            _CONCLUDE_ROUND,
            {
                "round_seq": delivery_seq,
                "round_lease": leased_until,
                "status": status,
                "attempt_count": attempt_count,
                "rounds": rounds,
                "next_attempt_at": next_attempt_at,
                "last_error": reason[:500] if reason else None,
                "finished_at": finished_at,
            },
        )
        return concluded.first() is not None

    async def count_pending(self, agency_code: str) -> int:
        query = select(func.count()).select_from(Delivery).where(col(Delivery.agency_code) == agency_code)
        return int((await self._session.exec(query.where(col(Delivery.status) == DeliveryStatus.PENDING))).one())

    async def people_waiting_on(self, agency_code: str, failing_since: datetime) -> list[tuple[str | None, str, str]]:
        """(establishment, subject, handover id) of the releases with a delivery to the endpoint still waiting,
        or given up on while its run of failures lasted."""
        query = (
            select(HandoverFact.establishment_code, HandoverFact.subject, HandoverFact.handover_id)
            .join(Delivery, col(Delivery.handover_id) == col(HandoverFact.handover_id))
            .where(col(Delivery.agency_code) == agency_code)
            .where(
                or_(
                    col(Delivery.status) == DeliveryStatus.PENDING,
                    and_(
                        col(Delivery.status) == DeliveryStatus.DEAD_LETTERED,
                        col(Delivery.finished_at) >= failing_since,
                    ),
                )
            )
            .distinct()
        )
        return [(row[0], row[1], row[2]) for row in (await self._session.exec(query)).all()]

    async def agencies_of_handover(self, handover_id: str) -> list[str]:
        query = select(Delivery.agency_code).where(col(Delivery.handover_id) == handover_id).distinct()
        return list((await self._session.exec(query)).all())

    async def undelivered(
        self,
        *,
        webhook_id: str | None = None,
        agency_code: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        """Deliveries that failed for good or were dead-lettered, oldest first."""
        query = select(Delivery).where(col(Delivery.status).in_(_REPLAYABLE))
        if webhook_id is not None:
            query = query.where(col(Delivery.webhook_id) == webhook_id)
        if agency_code:
            query = query.where(col(Delivery.agency_code) == agency_code)
        if since is not None:
            query = query.where(col(Delivery.finished_at) >= since)
        query = query.order_by(col(Delivery.seq))
        return list((await self._session.exec(query if limit is None else query.limit(limit))).all())

    async def requeue(self, delivery_seq: int, *, was: DeliveryStatus, replays: int, now: datetime) -> bool:
        """Put an undelivered delivery back on the schedule (unless another replay did first)."""
        changed = await self._session.exec(
            update(Delivery)
            .where(col(Delivery.seq) == delivery_seq)
            .where(col(Delivery.status) == was)
            .values(
                status=DeliveryStatus.PENDING,
                rounds=0,
                next_attempt_at=now,
                lease_expires_at=None,
                finished_at=None,
                replays=replays,
            )
        )
        return bool(changed.rowcount)

    async def of_handover(self, handover_id: str) -> list[Delivery]:
        query = select(Delivery).where(col(Delivery.handover_id) == handover_id).order_by(col(Delivery.seq))
        return list((await self._session.exec(query)).all())

    async def by_webhook_id(self, webhook_id: str) -> Delivery | None:
        return (await self._session.exec(select(Delivery).where(col(Delivery.webhook_id) == webhook_id))).first()

    async def attempts_of(self, delivery_seq: int) -> list[DeliveryAttempt]:
        query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_seq == delivery_seq)
        return list((await self._session.exec(query.order_by(col(DeliveryAttempt.id)))).all())


class SqlDeliveryAudit:
    """The delivery-level view of what was done to deliveries and endpoints, by whom."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, record: DeliveryAudit) -> None:
        self._session.add(record)

    async def find(
        self,
        *,
        webhook_id: str | None = None,
        agency_code: str | None = None,
        handover_id: str | None = None,
        limit: int = 500,
    ) -> list[DeliveryAudit]:
        query = select(DeliveryAudit)
        if webhook_id:
            query = query.where(DeliveryAudit.webhook_id == webhook_id)
        if agency_code:
            query = query.where(DeliveryAudit.agency_code == agency_code)
        if handover_id:
            query = query.where(DeliveryAudit.handover_id == handover_id)
        return list((await self._session.exec(query.order_by(col(DeliveryAudit.id)).limit(limit))).all())
