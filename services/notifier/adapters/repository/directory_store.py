"""The notifier's copy of the directory of services, one row per agency, in SQL."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifier.adapters.tables import DirectoryEndpoint


class SqlDirectoryEntries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, code: str) -> DirectoryEndpoint | None:
        return await self._session.get(DirectoryEndpoint, code)

    def save(self, entry: DirectoryEndpoint) -> None:
        self._session.add(entry)

    async def all(self) -> list[DirectoryEndpoint]:
        return list((await self._session.exec(select(DirectoryEndpoint))).all())
