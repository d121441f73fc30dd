"""The directory of services: kept in handover's database, managed through the admin API, seeded from
``deploy/directory/*.yaml`` when it is empty.

Every change (created, replaced, deactivated, secret rotated) publishes the agency's whole entry as
``directory.agency.changed`` on ``directory.events.v1`` through the outbox, in the same transaction as the
change, so the notifier's copy follows without a restart. Secrets given as ``literal:`` in a seed file are moved
into the secret store first: only references are stored and published. Deleting through the API deactivates:
referrals already made keep their agency.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import yaml
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.directory import DIRECTORY_AGENCY_CHANGED_SCHEMA, DirectoryAgencyChangedV1
from contracts.envelope import EventType, new_event
from services.common import audit
from services.common.clock import Clock
from services.common.db import Database
from services.common.outbox import add_to_outbox
from services.common.ssrf import check_webhook_url
from services.common.topics import DIRECTORY_EVENTS
from services.handover.domain.directory import AgencyRecord, PreviousSecret, WebhookEndpoint
from services.handover.models import DirectoryAgency
from services.handover.secret_store import store_secret

log = structlog.get_logger(__name__)

_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class DirectoryContext:
    database: Database
    clock: Clock
    source: str  # CloudEvents source of the change events
    secret_store: Path


def _expand(text: str) -> str:
    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        return found if found is not None else (match.group(2) or "")

    return _VARIABLE.sub(value, text)


def read_directory_files(path: Path) -> list[AgencyRecord]:
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    agencies = [
        AgencyRecord.model_validate(item)
        for file in files
        for item in (yaml.safe_load(_expand(file.read_text())) or {}).get("agencies", [])
    ]
    codes = [agency.code for agency in agencies]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"agency codes appear more than once in the directory: {', '.join(duplicates)}")
    for agency in agencies:
        if agency.webhook is not None:
            check_webhook_url(agency.webhook.url)  # SSRF: the same rule as the admin API's
    return agencies


def _stored_ref(ref: str, code: str, store: Path) -> str:
    scheme, _, value = ref.partition(":")
    return store_secret(store, code, value) if scheme == "literal" else ref


def without_literals(agency: AgencyRecord, store: Path) -> AgencyRecord:
    """The agency with every ``literal:`` secret moved into the secret store (seed files only carry them)."""
    webhook = agency.webhook
    if webhook is None:
        return agency
    moved = webhook.model_copy(
        update={
            "secret_ref": _stored_ref(webhook.secret_ref, agency.code, store),
            "previous_secrets": [
                PreviousSecret(secret_ref=_stored_ref(old.secret_ref, agency.code, store), until=old.until)
                for old in webhook.previous_secrets
            ],
        }
    )
    return agency.model_copy(update={"webhook": moved})


def _announce(session: AsyncSession, ctx: DirectoryContext, row: DirectoryAgency, correlation_id: str | None) -> None:
    """Stage the agency's whole current entry for ``directory.events.v1`` (call after changing ``row``)."""
    record = AgencyRecord.model_validate_json(row.record)
    data = DirectoryAgencyChangedV1.model_validate(
        {**record.model_dump(mode="json"), "revision": row.revision, "changed_at": row.updated_at}
    )
    event = new_event(
        type=EventType.DIRECTORY_AGENCY_CHANGED,
        source=ctx.source,
        subject=row.code,
        dataschema=DIRECTORY_AGENCY_CHANGED_SCHEMA,
        data=data,
        correlation_id=correlation_id,
        time=row.updated_at,
    )
    add_to_outbox(session, topic=DIRECTORY_EVENTS, event=event, clock=ctx.clock)


def _write(row: DirectoryAgency, agency: AgencyRecord, source: str, ctx: DirectoryContext) -> None:
    row.kind, row.record, row.active = agency.kind.value, agency.model_dump_json(), agency.active
    row.source, row.updated_at, row.revision = source, ctx.clock.now(), row.revision + 1


async def seed_from_files(*, ctx: DirectoryContext, path: Path) -> int:
    """Seed an empty directory from the files (one transaction: replicas starting together seed it once);
    a directory that holds anything is left as it is. Returns how many agencies were seeded."""
    async with ctx.database.session() as session:
        present = (await session.exec(select(func.count()).select_from(DirectoryAgency))).one()
    if present:
        return await _announce_upgraded(ctx=ctx, path=path)
    agencies = [without_literals(agency, ctx.secret_store) for agency in read_directory_files(path)]
    try:
        async with ctx.database.transaction() as session:
            if (await session.exec(select(func.count()).select_from(DirectoryAgency))).one():
                return 0
            for agency in agencies:
                row = DirectoryAgency(code=agency.code, kind="", record="", source="file", updated_at=ctx.clock.now())
                _write(row, agency, "file", ctx)
                session.add(row)
                _announce(session, ctx, row, None)
    except IntegrityError:  # another replica seeded it at the same moment
        return 0
    log.info("directory.seeded", agencies=len(agencies), path=str(path))
    return len(agencies)


async def _announce_upgraded(*, ctx: DirectoryContext, path: Path) -> int:
    """Agencies stored before the directory held endpoints (revision 0) take their endpoint from the files
    once, and are announced, so that the notifier learns them; nothing else is read from the files."""
    async with ctx.database.session() as session:
        silent = (await session.exec(select(DirectoryAgency).where(col(DirectoryAgency.revision) == 0))).all()
    if not silent:
        return 0
    files = {agency.code: agency for agency in read_directory_files(path)}
    announced = 0
    async with ctx.database.transaction() as session:
        for row in silent:
            current = await session.get(DirectoryAgency, row.code)
            if current is None or current.revision != 0:
                continue
            record = AgencyRecord.model_validate_json(current.record)
            seed = files.get(current.code)
            if record.webhook is None and seed is not None and seed.webhook is not None:
                record = without_literals(record.model_copy(update={"webhook": seed.webhook}), ctx.secret_store)
            _write(current, record, current.source, ctx)
            session.add(current)
            _announce(session, ctx, current, None)
            announced += 1
    log.info("directory.upgraded", agencies=announced)
    return announced


async def active_agencies(*, database: Database) -> list[AgencyRecord]:
    async with database.session() as session:
        rows = (await session.exec(select(DirectoryAgency).where(col(DirectoryAgency.active).is_(True)))).all()
    return [AgencyRecord.model_validate_json(row.record) for row in rows]


@dataclass(frozen=True)
class Entry:
    agency: AgencyRecord
    source: str  # file (seeded) or api
    revision: int


def _entry(row: DirectoryAgency) -> Entry:
    return Entry(AgencyRecord.model_validate_json(row.record), row.source, row.revision)


async def all_agencies(*, database: Database) -> list[Entry]:
    async with database.session() as session:
        rows = (await session.exec(select(DirectoryAgency).order_by(col(DirectoryAgency.code)))).all()
    return [_entry(row) for row in rows]


async def get_agency(*, database: Database, code: str) -> Entry | None:
    async with database.session() as session:
        row = await session.get(DirectoryAgency, code)
    return None if row is None else _entry(row)


async def _audit(
    session: AsyncSession, actor: Any, action: str, code: str, clock: Clock, details: dict[str, Any]
) -> None:
    """Operator actions on the directory go to the audit trail in the same transaction as the change."""
    what = {"action": action, "resource_type": "directory_agency", "resource_id": code, "details": details}
    entry = audit.AuditEntry.by(actor, **what) if actor else audit.AuditEntry.system("handover", **what)
    await audit.record(session, entry, clock.now())


async def put_agency(
    *, ctx: DirectoryContext, agency: AgencyRecord, actor: Any = None, correlation_id: str | None = None
) -> tuple[bool, int]:
    """Create or replace an agency through the admin API and announce it; (created?, revision). Audited."""
    async with ctx.database.transaction() as session:
        row = await session.get(DirectoryAgency, agency.code)
        created = row is None
        row = row or DirectoryAgency(code=agency.code, kind="", record="", source="api", updated_at=ctx.clock.now())
        _write(row, agency, "api", ctx)
        session.add(row)
        _announce(session, ctx, row, correlation_id)
        details = {"created": created, "active": agency.active, "endpoint": agency.webhook is not None}
        await _audit(session, actor, "directory.agency_put", agency.code, ctx.clock, details)
    log.info("directory.agency_put", agency=agency.code, created=created, revision=row.revision)
    return created, row.revision


async def deactivate_agency(
    *, ctx: DirectoryContext, code: str, actor: Any = None, correlation_id: str | None = None
) -> bool:
    """Deactivate an agency through the admin API; False when there is none with this code. Audited."""
    async with ctx.database.transaction() as session:
        row = await session.get(DirectoryAgency, code)
        if row is None:
            return False
        record = AgencyRecord.model_validate_json(row.record).model_copy(update={"active": False})
        _write(row, record, "api", ctx)
        session.add(row)
        _announce(session, ctx, row, correlation_id)
        await _audit(session, actor, "directory.agency_deactivated", code, ctx.clock, {})
    log.info("directory.agency_deactivated", agency=code)
    return True


class NoEndpoint(LookupError):
    """The agency has no webhook endpoint whose secret could be rotated."""


async def rotate_secret(
    *,
    ctx: DirectoryContext,
    code: str,
    new_ref: str,
    overlap_seconds: float,
    actor: Any = None,
    correlation_id: str | None = None,
) -> Entry | None:
    """Sign with ``new_ref`` from now on, the current secret next to it for ``overlap_seconds``; None when no
    agency has this code, :class:`NoEndpoint` when it has no endpoint. Audited (the references, never a secret)."""
    async with ctx.database.transaction() as session:
        row = await session.get(DirectoryAgency, code)
        if row is None:
            return None
        record = AgencyRecord.model_validate_json(row.record)
        if record.webhook is None:
            raise NoEndpoint(code)
        webhook: WebhookEndpoint = record.webhook.rotated(new_ref, now=ctx.clock.now(), overlap_seconds=overlap_seconds)
        record = record.model_copy(update={"webhook": webhook})
        _write(row, record, "api", ctx)
        session.add(row)
        _announce(session, ctx, row, correlation_id)
        details = {"overlap_seconds": overlap_seconds, "signing_secrets": len(webhook.secret_refs())}
        await _audit(session, actor, "directory.secret_rotated", code, ctx.clock, details)
    log.info("directory.secret_rotated", agency=code, revision=row.revision)
    return Entry(record, "api", row.revision)
