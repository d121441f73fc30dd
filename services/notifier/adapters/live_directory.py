"""The directory as the notifier's database holds it now, in memory: what the dispatcher, the escalation scan and
the API read. Re-read every few moments, so a change another replica applied arrives without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from pydantic import PrivateAttr

from services.notifier.domain.agencies import Directory
from services.notifier.usecases.directory_sync import read_directory
from services.notifier.usecases.ports import UowFactory


class LiveDirectory(Directory):
    _known: set[str] = PrivateAttr(default_factory=set)

    async def refresh(self, new_uow: UowFactory) -> None:
        self.agencies, self._known = await read_directory(uow=new_uow())

    def knows(self, code: str) -> bool:
        """Whether the directory has any entry for ``code`` (with an endpoint or not)."""
        return code in self._known

    async def wait_for(self, codes: Iterable[str], *, new_uow: UowFactory, timeout: float, every: float = 0.1) -> bool:
        """Wait (re-reading) until every code is known, at most ``timeout`` seconds; True when all are.

        Handover announces an agency before it routes anything to it, but the two topics are consumed apart,
        so a pack may arrive a moment before the agency it names."""
        wanted = set(codes)
        deadline = asyncio.get_running_loop().time() + timeout
        while not wanted <= self._known:
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(every)
            await self.refresh(new_uow)
        return True


async def keep_fresh(directory: LiveDirectory, new_uow: UowFactory, every: float) -> None:
    """Re-read the directory for ever (changes applied by another replica arrive this way)."""
    while True:
        await directory.refresh(new_uow)
        await asyncio.sleep(every)
