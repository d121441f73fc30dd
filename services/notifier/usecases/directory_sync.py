"""The notifier's copy of the directory of services, kept from ``directory.agency.changed`` events.

Handover owns the directory; each change arrives as the agency's whole entry with a revision. Applying keeps
the highest revision per agency, so repeated, replayed or late records change nothing: no inbox is needed.
Every replica reads the same table into its live directory and re-reads it every few moments (and at once
after applying a change itself), so a change reaches every replica without a restart.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from pydantic import ValidationError

from contracts.directory import DirectoryAgencyChangedV1
from contracts.envelope import CloudEvent
from services.notifier.adapters.tables import DirectoryEndpoint
from services.notifier.domain.agencies import Agency
from services.notifier.usecases.ports import NotifierUow

log = structlog.get_logger(__name__)


async def apply_change(*, uow: NotifierUow, event: CloudEvent, now: datetime) -> bool:
    """Store an agency's new entry unless one as new or newer is there; True when it changed anything."""
    change = DirectoryAgencyChangedV1.model_validate(event.data)
    async with uow:
        entry = await uow.directory.get(change.code)
        if entry is not None and entry.revision >= change.revision:
            return False
        entry = entry or DirectoryEndpoint(code=change.code, revision=0, record="", updated_at=now)
        entry.revision, entry.record, entry.updated_at = change.revision, change.model_dump_json(), now
        uow.directory.save(entry)
    log.info("directory.agency_applied", agency=change.code, revision=change.revision, active=change.active)
    return True


async def read_directory(*, uow: NotifierUow) -> tuple[list[Agency], set[str]]:
    """The agencies with a usable endpoint, by code, and the code of every agency the copy holds."""
    async with uow:
        entries = await uow.directory.all()
    usable = [agency for agency in (endpoint_of(entry.record) for entry in entries) if agency is not None]
    return sorted(usable, key=lambda agency: agency.code), {entry.code for entry in entries}


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
