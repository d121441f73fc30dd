"""Handover's unit of work: the common outbox, inbox and audit trail, and handover's repositories, over one
transaction."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.unit_of_work import SqlUnitOfWork
from services.handover.adapters.repository import SqlCustodyLog, SqlDirectory, SqlHandovers, SqlReferrals


class HandoverSqlUnitOfWork(SqlUnitOfWork):
    handovers: SqlHandovers
    referrals: SqlReferrals
    custody: SqlCustodyLog
    directory: SqlDirectory

    def _bind(self, session: AsyncSession) -> None:
        self.handovers = SqlHandovers(session)
        self.referrals = SqlReferrals(session)
        self.custody = SqlCustodyLog(session)
        self.directory = SqlDirectory(session)
