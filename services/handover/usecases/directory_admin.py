"""The directory of services: kept in handover's database, changed through the operators' admin API, seeded
from the files when it is empty.

Every change (created, replaced, deactivated, secret rotated) publishes the agency's whole entry as
``directory.agency.changed`` on ``directory.events.v1`` through the outbox, in the same transaction as the
change, so the notifier's copy follows without a restart. Deleting through the API deactivates: referrals
already made keep their agency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from contracts.directory import DIRECTORY_AGENCY_CHANGED_SCHEMA, DirectoryAgencyChangedV1
from contracts.envelope import EventType
from services.common.auth import Principal
from services.common.topics import DIRECTORY_EVENTS
from services.handover.adapters.tables import DirectoryAgency
from services.handover.domain.directory import AgencyRecord, WebhookEndpoint
from services.handover.usecases.audit_entries import audit_entry
from services.handover.usecases.issuing import Stamp, publish
from services.handover.usecases.ports import HandoverUnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DirectoryEntry:
    agency: AgencyRecord
    source: str  # file (seeded) or api
    revision: int


class NoEndpoint(LookupError):
    """The agency has no webhook endpoint whose secret could be rotated."""


def entry_of(row: DirectoryAgency) -> DirectoryEntry:
    return DirectoryEntry(AgencyRecord.model_validate_json(row.record), row.source, row.revision)


def _write(row: DirectoryAgency, agency: AgencyRecord, source: str, now: datetime) -> None:
    row.kind, row.record, row.active = agency.kind.value, agency.model_dump_json(), agency.active
    row.source, row.updated_at, row.revision = source, now, row.revision + 1


def _announce(uow: HandoverUnitOfWork, row: DirectoryAgency, source: str, correlation_id: str | None) -> None:
    """Stage the agency's whole current entry for ``directory.events.v1`` (call after changing ``row``)."""
    record = AgencyRecord.model_validate_json(row.record)
    data = DirectoryAgencyChangedV1.model_validate(
        {**record.model_dump(mode="json"), "revision": row.revision, "changed_at": row.updated_at}
    )
    publish(
        uow,
        Stamp(source, row.updated_at, correlation_id),
        type=EventType.DIRECTORY_AGENCY_CHANGED,
        schema=DIRECTORY_AGENCY_CHANGED_SCHEMA,
        data=data,
        subject=row.code,
        topic=DIRECTORY_EVENTS,
    )


async def _change(
    uow: HandoverUnitOfWork,
    row: DirectoryAgency,
    agency: AgencyRecord,
    *,
    source: str,
    now: datetime,
    correlation_id: str | None,
) -> None:
    _write(row, agency, "api", now)
    await uow.directory.save(row)
    _announce(uow, row, source, correlation_id)


@dataclass(frozen=True)
class SeedFiles:
    """The directory's seed: ``read`` gives its agencies as written; ``keep_secrets`` moves an agency's literal
    secrets into the secret store, so that only references are stored."""

    read: Callable[[], list[AgencyRecord]]
    keep_secrets: Callable[[AgencyRecord], AgencyRecord]


async def seed_directory(*, new_uow: UnitOfWorkFactory, seed: SeedFiles, source: str, now: datetime) -> int:
    """Seed an empty directory from the files (one transaction: replicas starting together seed it once); a
    directory that holds anything is left as it is, except agencies stored before it held endpoints. Returns
    how many agencies were announced."""
    async with new_uow() as uow:
        present = await uow.directory.count()
    if present:
        return await _announce_upgraded(new_uow=new_uow, seed=seed, source=source, now=now)
    agencies = [seed.keep_secrets(agency) for agency in seed.read()]
    try:
        async with new_uow() as uow:
            if await uow.directory.count():
                return 0
            for agency in agencies:
                row = DirectoryAgency(code=agency.code, kind="", record="", source="file", updated_at=now)
                _write(row, agency, "file", now)
                await uow.directory.save(row)
                _announce(uow, row, source, None)
    except IntegrityError:  # another replica seeded it at the same moment
        return 0
    log.info("directory.seeded", agencies=len(agencies))
    return len(agencies)


async def _announce_upgraded(*, new_uow: UnitOfWorkFactory, seed: SeedFiles, source: str, now: datetime) -> int:
    """Agencies stored before the directory held endpoints (revision 0) take their endpoint from the files
    once, and are announced, so that the notifier learns them; nothing else is read from the files."""
    async with new_uow() as uow:
        silent = await uow.directory.never_announced()
    if not silent:
        return 0
    files = {agency.code: agency for agency in seed.read()}
    announced = 0
    async with new_uow() as uow:
        for row in silent:
            current = await uow.directory.get(row.code)
            if current is None or current.revision != 0:
                continue
            record = AgencyRecord.model_validate_json(current.record)
            seeded = files.get(current.code)
            if record.webhook is None and seeded is not None and seeded.webhook is not None:
                record = seed.keep_secrets(record.model_copy(update={"webhook": seeded.webhook}))
            _write(current, record, current.source, now)
            await uow.directory.save(current)
            _announce(uow, current, source, None)
            announced += 1
    log.info("directory.upgraded", agencies=announced)
    return announced


async def put_agency(
    *,
    uow: HandoverUnitOfWork,
    agency: AgencyRecord,
    source: str,
    now: datetime,
    actor: Principal | None = None,
    correlation_id: str | None = None,
) -> tuple[bool, int]:
    """Create or replace an agency through the admin API and announce it; (created?, revision). Audited."""
    async with uow:
        row = await uow.directory.get(agency.code)
        created = row is None
        row = row or DirectoryAgency(code=agency.code, kind="", record="", source="api", updated_at=now)
        await _change(uow, row, agency, source=source, now=now, correlation_id=correlation_id)
        details = {"created": created, "active": agency.active, "endpoint": agency.webhook is not None}
        await _audit(uow, actor, "directory.agency_put", agency.code, details)
    log.info("directory.agency_put", agency=agency.code, created=created, revision=row.revision)
    return created, row.revision


async def deactivate_agency(
    *,
    uow: HandoverUnitOfWork,
    code: str,
    source: str,
    now: datetime,
    actor: Principal | None = None,
    correlation_id: str | None = None,
) -> bool:
    """Deactivate an agency through the admin API; False when there is none with this code. Audited."""
    async with uow:
        row = await uow.directory.get(code)
        if row is None:
            return False
        record = AgencyRecord.model_validate_json(row.record).model_copy(update={"active": False})
        await _change(uow, row, record, source=source, now=now, correlation_id=correlation_id)
        await _audit(uow, actor, "directory.agency_deactivated", code, {})
    log.info("directory.agency_deactivated", agency=code)
    return True


async def rotate_secret(
    *,
    uow: HandoverUnitOfWork,
    code: str,
    new_ref: str,
    overlap_seconds: float,
    source: str,
    now: datetime,
    actor: Principal | None = None,
    correlation_id: str | None = None,
) -> DirectoryEntry | None:
    """Sign with ``new_ref`` from now on, the current secret next to it for ``overlap_seconds``; None when no
    agency has this code, :class:`NoEndpoint` when it has no endpoint. Audited (the references, never a secret)."""
    async with uow:
        row = await uow.directory.get(code)
        if row is None:
            return None
        record = AgencyRecord.model_validate_json(row.record)
        if record.webhook is None:
            raise NoEndpoint(code)
        webhook: WebhookEndpoint = record.webhook.rotated(new_ref, now=now, overlap_seconds=overlap_seconds)
        record = record.model_copy(update={"webhook": webhook})
        await _change(uow, row, record, source=source, now=now, correlation_id=correlation_id)
        details = {"overlap_seconds": overlap_seconds, "signing_secrets": len(webhook.secret_refs())}
        await _audit(uow, actor, "directory.secret_rotated", code, details)
    log.info("directory.secret_rotated", agency=code, revision=row.revision)
    return DirectoryEntry(record, "api", row.revision)


async def _audit(
    uow: HandoverUnitOfWork, actor: Principal | None, action: str, code: str, details: dict[str, Any]
) -> None:
    """Operator actions on the directory go to the audit trail in the same transaction as the change."""
    await uow.audit.record(
        audit_entry(actor, action=action, resource_type="directory_agency", resource_id=code, details=details)
    )
