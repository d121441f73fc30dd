"""The console's unit of work: the common SQL one with the accounts and sessions repositories bound to it."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock, SystemClock
from services.common.db import Database
from services.common.unit_of_work import SqlUnitOfWork
from services.console.adapters.repository import SqlAccounts, SqlSessions


class SqlConsoleUnitOfWork(SqlUnitOfWork):
    accounts: SqlAccounts
    sessions: SqlSessions

    def __init__(self, database: Database, clock: Clock | None = None) -> None:
        super().__init__(database, clock or SystemClock())

    def _bind(self, session: AsyncSession) -> None:
        self.accounts = SqlAccounts(session)
        self.sessions = SqlSessions(session)
