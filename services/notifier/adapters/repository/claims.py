"""The claim of due deliveries, in SQL: which agencies have deliveries waiting, each one's first due deliveries
up to its room, and the lease of the first of them in order. It reads only what it may take, however many
deliveries wait."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, exists, func, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import UtcDateTime
from services.common.sql import execute, unindexed
from services.notifier.adapters.tables import Delivery, EndpointState
from services.notifier.domain.states import HOLDING, DeliveryStatus, EndpointStatus

_HOLDING = [status.value for status in HOLDING]


async def lease_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease_until: datetime,
    held: Collection[str],
    capacity: Mapping[str, int] | None,
    sending: Collection[int],
) -> list[Delivery]:
    """What ``SqlDeliveries.claim_due`` promises, in three steps: the agencies with a pending delivery (one index
    probe each), then each agency's first due deliveries up to its room, then the lease of the first ``limit`` of
    those in order (UPDATE ... RETURNING, SQLite >= 3.35 and PostgreSQL). Ranking every pending delivery in one
    statement instead cost ~70 ms a claim with 30,000 waiting on SQLite, and a burst makes thousands of claims,
    each holding SQLite's writer."""
    waiting = (await execute(session, _WAITING_AGENCIES)).scalars().all()
    rooms = [
        (code, min(limit, capacity.get(code, limit) if capacity is not None else limit))
        for code in waiting
        if code not in held
    ]
    rooms = [(code, room) for code, room in rooms if room > 0]
    candidates: list[int] = []
    for start in range(0, len(rooms), _AGENCIES_PER_READ):
        chunk = rooms[start : start + _AGENCIES_PER_READ]
        branches = 1 << (len(chunk) - 1).bit_length()
        parameters: dict[str, object] = {"now": now, "sending": sorted(sending)}
        for n in range(branches):
            code, room = chunk[n] if n < len(chunk) else ("", 0)
            parameters[f"agency_{n}"], parameters[f"room_{n}"] = code, room
        candidates.extend((await execute(session, _first_due(branches), parameters)).scalars())
    chosen = sorted(candidates)[:limit]
    if not chosen:
        return []
    leased = await session.execute(_LEASE, {"chosen": chosen, "now": now, "lease_until": lease_until})
    return sorted(leased.scalars().all(), key=lambda delivery: delivery.seq or 0)


def _not_leased(now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(col(Delivery.lease_expires_at).is_(None), col(Delivery.lease_expires_at) < now)


# Built once. Which agencies have a pending delivery, read by skipping through the (status, agency_code, seq) index
# one agency at a time (a loose index scan: one probe per agency, however many deliveries wait), leaving out
# endpoints paused in their state.
def _waiting_agencies() -> Any:
    first = select(func.min(col(Delivery.agency_code)).label("code")).where(
        col(Delivery.status) == DeliveryStatus.PENDING
    )
    waiting = first.cte("waiting", recursive=True)
    after = aliased(Delivery)
    following = (
        select(func.min(col(after.agency_code)))
        .where(col(after.status) == DeliveryStatus.PENDING, col(after.agency_code) > waiting.c.code)
        .scalar_subquery()
    )
    waiting = waiting.union_all(select(following).where(waiting.c.code.is_not(None)))
    paused = select(EndpointState.agency_code).where(col(EndpointState.status) == EndpointStatus.PAUSED)
    return select(waiting.c.code).where(waiting.c.code.is_not(None), waiting.c.code.not_in(paused))


_WAITING_AGENCIES = _waiting_agencies()

# SQLite takes at most 500 terms in one compound SELECT; a claim reads agencies in chunks of this many.
_AGENCIES_PER_READ = 256


@functools.lru_cache(maxsize=16)
def _first_due(agencies: int) -> Any:
    """The first due deliveries of each of ``agencies`` agencies, in order: one branch per agency (``agency_<n>``,
    at most ``room_<n>`` rows), each walking that agency's pending deliveries in the index's order and stopping
    once it has its room. Built once per number of agencies (a power of two; unused branches name no agency).

    A delivery is due when it is pending, its time has come, no lease holds it, this sender is not ``sending`` it,
    and no earlier delivery about the same person to the same agency is still holding (``HOLDING``)."""
    now = bindparam("now", type_=UtcDateTime())
    branches = []
    for n in range(agencies):
        candidate, earlier = aliased(Delivery), aliased(Delivery)
        blocked = exists().where(
            col(earlier.agency_code) == col(candidate.agency_code),
            col(earlier.subject) == col(candidate.subject),
            col(earlier.status).in_(_HOLDING),
            col(earlier.seq) < col(candidate.seq),
        )
        first = (
            select(col(candidate.seq).label("seq"))
            .where(
                col(candidate.status) == DeliveryStatus.PENDING,
                col(candidate.agency_code) == bindparam(f"agency_{n}"),
                # Not the (status, next_attempt_at) index: SQLite would read every due delivery to sort them.
                unindexed(col(candidate.next_attempt_at)) <= now,
                or_(col(candidate.lease_expires_at).is_(None), col(candidate.lease_expires_at) < now),
                ~blocked,
                col(candidate.seq).not_in(bindparam("sending", expanding=True)),
            )
            .order_by(col(candidate.seq))
            .limit(bindparam(f"room_{n}", type_=Integer()))
            .subquery()
        )
        # Each branch wrapped: SQLite takes no ORDER BY or LIMIT on a compound SELECT's own terms.
        branches.append(select(first.c.seq))
    return union_all(*branches) if len(branches) > 1 else branches[0]


# Built once: lease the chosen deliveries, repeating the lease's conditions on the rows themselves, so a row
# another replica leased meanwhile is left to it (PostgreSQL re-checks them on the row's newest version after
# waiting for its lock).
_LEASE = (
    update(Delivery)
    .where(
        col(Delivery.seq).in_(bindparam("chosen", expanding=True)),
        col(Delivery.status) == DeliveryStatus.PENDING,
        _not_leased(bindparam("now", type_=UtcDateTime())),
    )
    .values(lease_expires_at=bindparam("lease_until", type_=UtcDateTime()))
    .returning(Delivery)
    .execution_options(synchronize_session=False)
)
