"""The routing directory of handover: loaded from ``deploy/directory/*.yaml`` at start, kept in the database,
managed through the admin API.

The YAML files are shared with the notifier, which reads the ``webhook`` of each agency; handover ignores it.
At start every file agency is written, except those changed since through the admin API (``source = api``),
which the API owns from then on. Deleting through the API deactivates: referrals already made keep
their agency.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import structlog
import yaml
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import audit
from services.common.clock import Clock
from services.common.db import Database
from services.handover.domain.directory import AgencyRecord
from services.handover.models import DirectoryAgency

log = structlog.get_logger(__name__)

_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


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
    return agencies


async def sync_from_files(*, database: Database, path: Path, clock: Clock) -> int:
    """Write the file agencies (not those the admin API has taken over); returns how many were written."""
    agencies = read_directory_files(path)
    written = 0
    for agency in agencies:
        try:
            async with database.transaction() as session:
                row = await session.get(DirectoryAgency, agency.code)
                if row is not None and row.source == "api":
                    continue
                row = row or DirectoryAgency(
                    code=agency.code, kind=agency.kind.value, record="", source="file", updated_at=clock.now()
                )
                row.kind, row.record, row.active = agency.kind.value, agency.model_dump_json(), agency.active
                row.updated_at = clock.now()
                session.add(row)
                written += 1
        except IntegrityError:  # another replica wrote it at the same moment
            continue
    log.info("directory.synced", agencies=written, path=str(path))
    return written


async def active_agencies(*, database: Database) -> list[AgencyRecord]:
    async with database.session() as session:
        rows = (
            await session.exec(select(DirectoryAgency).where(col(DirectoryAgency.active).is_(True)))
        ).all()
    return [AgencyRecord.model_validate_json(row.record) for row in rows]


async def all_agencies(*, database: Database) -> list[tuple[AgencyRecord, str]]:
    async with database.session() as session:
        rows = (await session.exec(select(DirectoryAgency).order_by(col(DirectoryAgency.code)))).all()
    return [(AgencyRecord.model_validate_json(row.record), row.source) for row in rows]


async def get_agency(*, database: Database, code: str) -> tuple[AgencyRecord, str] | None:
    async with database.session() as session:
        row = await session.get(DirectoryAgency, code)
    return None if row is None else (AgencyRecord.model_validate_json(row.record), row.source)


async def _audit(
    session: AsyncSession, actor: Any, action: str, code: str, clock: Clock, details: dict[str, Any]
) -> None:
    """Operator actions on the directory go to the audit trail in the same transaction as the change."""
    what = {"action": action, "resource_type": "directory_agency", "resource_id": code, "details": details}
    entry = audit.AuditEntry.by(actor, **what) if actor else audit.AuditEntry.system("handover", **what)
    await audit.record(session, entry, clock.now())


async def put_agency(*, database: Database, agency: AgencyRecord, clock: Clock, actor: Any = None) -> bool:
    """Create or replace an agency through the admin API; True when it was created. Audited."""
    async with database.transaction() as session:
        row = await session.get(DirectoryAgency, agency.code)
        created = row is None
        row = row or DirectoryAgency(
            code=agency.code, kind="", record="", source="api", updated_at=clock.now()
        )
        row.kind, row.record, row.active = agency.kind.value, agency.model_dump_json(), agency.active
        row.source, row.updated_at = "api", clock.now()
        session.add(row)
        await _audit(session, actor, "directory.agency_put", agency.code, clock, {"created": created})
    log.info("directory.agency_put", agency=agency.code, created=created)
    return created


async def deactivate_agency(*, database: Database, code: str, clock: Clock, actor: Any = None) -> bool:
    """Deactivate an agency through the admin API; False when there is none with this code. Audited."""
    async with database.transaction() as session:
        row = await session.get(DirectoryAgency, code)
        if row is None:
            return False
        record = AgencyRecord.model_validate_json(row.record).model_copy(update={"active": False})
        row.record, row.active, row.source, row.updated_at = (
            record.model_dump_json(),
            False,
            "api",
            clock.now(),
        )
        session.add(row)
        await _audit(session, actor, "directory.agency_deactivated", code, clock, {})
    log.info("directory.agency_deactivated", agency=code)
    return True
