"""Handover's unit of work: the common outbox, inbox and audit trail, and handover's repositories, over one
transaction."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.db import Database
from services.common.unit_of_work import SqlUnitOfWork
from services.handover.adapters.directory_repository import SqlDirectory
from services.handover.adapters.outcome_repository import SqlOutcomeRepository
from services.handover.adapters.repository import SqlCustodyLog, SqlHandovers, SqlReferrals


class HandoverSqlUnitOfWork(SqlUnitOfWork):
    handovers: SqlHandovers
    referrals: SqlReferrals
    custody: SqlCustodyLog
    directory: SqlDirectory
    outcomes: SqlOutcomeRepository

    def __init__(self, database: Database, clock: Clock, registration_days: int = 3) -> None:
        super().__init__(database, clock)
        self._registration_days = registration_days

    def _bind(self, session: AsyncSession) -> None:
        self.handovers = SqlHandovers(session)
        self.referrals = SqlReferrals(session)
        self.custody = SqlCustodyLog(session)
        self.directory = SqlDirectory(session)
        self.outcomes = SqlOutcomeRepository(session, self._registration_days)
