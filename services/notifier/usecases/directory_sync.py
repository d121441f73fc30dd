"""The notifier's copy of the directory of services, kept from ``directory.agency.changed`` events.

Handover owns the directory; each change arrives as the agency's whole entry with a revision. Applying keeps
the highest revision per agency, so repeated, replayed or late records change nothing: no inbox is needed.
Every replica reads the same table into a :class:`LiveDirectory` and re-reads it every few moments (and at once
after applying a change itself), so a change reaches every replica without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog
from pydantic import PrivateAttr, ValidationError
from sqlmodel import select

from contracts.directory import DirectoryAgencyChangedV1
from contracts.envelope import CloudEvent
from services.common.clock import Clock
from services.common.db import Database
from services.notifier.adapters.tables import DirectoryEndpoint
from services.notifier.domain.agencies import Agency, Directory

log = structlog.get_logger(__name__)


async def apply_change(*, database: Database, event: CloudEvent, clock: Clock) -> bool:
    """Store an agency's new entry unless one as new or newer is there; True when it changed anything."""
    change = DirectoryAgencyChangedV1.model_validate(event.data)
    async with database.transaction() as session:
        row = await session.get(DirectoryEndpoint, change.code)
        if row is not None and row.revision >= change.revision:
            return False
        row = row or DirectoryEndpoint(code=change.code, revision=0, record="", updated_at=clock.now())
        row.revision, row.record, row.updated_at = change.revision, change.model_dump_json(), clock.now()
        session.add(row)
    log.info("directory.agency_applied", agency=change.code, revision=change.revision, active=change.active)
    return True


def endpoint_of(record: str) -> Agency | None:
    """The agency as the notifier delivers to it; None when it has no endpoint (or one it cannot use)."""
    change = DirectoryAgencyChangedV1.model_validate_json(record)
    if change.webhook is None:
        return None
    try:
        return Agency.model_validate(change.model_dump(mode="json"))
    except ValidationError:
        log.error("directory.agency_unusable", agency=change.code)
        return None


class LiveDirectory(Directory):
    """The directory as the notifier's database holds it now; :meth:`refresh` re-reads it."""

    _known: set[str] = PrivateAttr(default_factory=set)

    async def refresh(self, database: Database) -> None:
        async with database.session() as session:
            rows = (await session.exec(select(DirectoryEndpoint))).all()
        usable = [agency for agency in (endpoint_of(row.record) for row in rows) if agency is not None]
        self.agencies = sorted(usable, key=lambda agency: agency.code)
        self._known = {row.code for row in rows}

    def knows(self, code: str) -> bool:
        """Whether the directory has any entry for ``code`` (with an endpoint or not)."""
        return code in self._known

    async def wait_for(self, codes: Iterable[str], *, database: Database, timeout: float, every: float = 0.1) -> bool:
        """Wait (re-reading) until every code is known, at most ``timeout`` seconds; True when all are.

        Handover announces an agency before it routes anything to it, but the two topics are consumed apart,
        so a pack may arrive a moment before the agency it names."""
        wanted = set(codes)
        deadline = asyncio.get_running_loop().time() + timeout
        while not wanted <= self._known:
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(every)
            await self.refresh(database)
        return True


async def keep_fresh(directory: LiveDirectory, database: Database, every: float) -> None:
    """Re-read the directory for ever (changes applied by another replica arrive this way)."""
    while True:
        await directory.refresh(database)
        await asyncio.sleep(every)
