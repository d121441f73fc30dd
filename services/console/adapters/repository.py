"""The SQL behind the console's use cases: its own accounts and sessions (nothing clinical is stored here)."""

from __future__ import annotations

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.console.adapters.tables import Account, ConsoleSession


class SqlAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: str) -> Account | None:
        return await self._session.get(Account, user_id)

    async def all(self) -> list[Account]:
        query = select(Account).order_by(col(Account.organisation), col(Account.user_id))
        return list((await self._session.exec(query)).all())

    def save(self, account: Account) -> None:
        self._session.add(account)


class SqlSessions:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, token_hash: str) -> ConsoleSession | None:
        return await self._session.get(ConsoleSession, token_hash)

    def add(self, console_session: ConsoleSession) -> None:
        self._session.add(console_session)

    async def remove(self, token_hash: str) -> None:
        await self._session.exec(delete(ConsoleSession).where(col(ConsoleSession.token_hash) == token_hash))

    async def remove_all_of(self, user_id: str) -> None:
        await self._session.exec(delete(ConsoleSession).where(col(ConsoleSession.user_id) == user_id))
