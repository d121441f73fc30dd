"""release_events' unit of work: the common SQL one with this service's repositories bound to its session."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.unit_of_work import SqlUnitOfWork
from services.release_events.adapters.repository import (
    SqlCustodyEvents,
    SqlCustodyRegister,
    SqlIdempotencyRecords,
    SqlNotices,
    SqlProgress,
    SqlPublications,
)
from services.release_events.usecases.ports import WriteConflict


class SqlReleaseEventsUnitOfWork(SqlUnitOfWork):
    notices: SqlNotices
    idempotency: SqlIdempotencyRecords
    register: SqlCustodyRegister
    custody_events: SqlCustodyEvents
    progress: SqlProgress
    publications: SqlPublications

    def _bind(self, session: AsyncSession) -> None:
        self.notices = SqlNotices(session)
        self.idempotency = SqlIdempotencyRecords(session)
        self.register = SqlCustodyRegister(session)
        self.custody_events = SqlCustodyEvents(session)
        self.progress = SqlProgress(session)
        self.publications = SqlPublications(session)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            await super().__aexit__(kind, error, trace)
        except IntegrityError as conflict:  # at commit
            raise WriteConflict(str(conflict.orig)) from conflict
        if isinstance(error, IntegrityError):  # at a flush inside the block, now rolled back
            raise WriteConflict(str(error.orig)) from error
