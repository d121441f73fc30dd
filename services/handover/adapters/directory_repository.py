"""Handover's directory of services as stored: the rows, and the active agencies as one transaction read them."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.handover.adapters.tables import DirectoryAgency
from services.handover.domain.directory import AgencyRecord

# The active directory as this transaction read it, kept on its session until a change: every notice routes
# over the whole directory, and a consumer's group of fifty notices shares one transaction. A savepoint rolled
# back restores the session's info (``Database.transaction``), so a reading taken inside it goes with it.
_ACTIVE = "handover.active_directory"
_ACTIVE_QUERY = select(col(DirectoryAgency.record)).where(col(DirectoryAgency.active).is_(True))


class SqlDirectory:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _active(self) -> dict[str, AgencyRecord] | None:
        active: dict[str, AgencyRecord] | None = self._session.info.get(_ACTIVE)
        return active

    async def active(self) -> list[AgencyRecord]:
        if self._active is None:
            found = [_agency_record(record) for record in (await self._session.exec(_ACTIVE_QUERY)).all()]
            self._session.info[_ACTIVE] = {agency.code: agency for agency in found}
        assert self._active is not None
        return list(self._active.values())

    async def all(self) -> list[DirectoryAgency]:
        query = select(DirectoryAgency).order_by(col(DirectoryAgency.code))
        return list((await self._session.exec(query)).all())

    async def get(self, code: str) -> DirectoryAgency | None:
        return await self._session.get(DirectoryAgency, code)

    async def save(self, row: DirectoryAgency) -> None:
        self._session.info.pop(_ACTIVE, None)
        self._session.add(row)

    async def count(self) -> int:
        return (await self._session.exec(select(func.count()).select_from(DirectoryAgency))).one()

    async def never_announced(self) -> list[DirectoryAgency]:
        query = select(DirectoryAgency).where(col(DirectoryAgency.revision) == 0)
        return list((await self._session.exec(query)).all())

    async def records(self, codes: set[str]) -> list[AgencyRecord]:
        """The named agencies; from this unit of work's reading of the active directory when it holds them all
        (a new pack's recipients were just routed over it), else from the table (inactive ones included)."""
        if self._active is not None and codes <= self._active.keys():
            return [self._active[code] for code in codes]
        query = select(col(DirectoryAgency.record)).where(col(DirectoryAgency.code).in_(codes))
        return [_agency_record(record) for record in (await self._session.exec(query)).all()]


@lru_cache(maxsize=4096)
def _agency_record(record: str) -> AgencyRecord:
    """An agency parsed from its stored JSON, remembered by that exact text: every notice routes over the whole
    directory, which changes rarely, and a changed agency is new text, so it is parsed afresh (records are frozen)."""
    return AgencyRecord.model_validate_json(record)
