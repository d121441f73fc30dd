"""``GET /v1/audit``: the audit trail of this service, for operators; every service mounts it.

Reading the trail is itself recorded (``audit.read``), so who looked at whose history is on the record too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlmodel import col, select

from services.common import audit
from services.common.auth import AuditReader

router = APIRouter(prefix="/v1", tags=["audit"])


class AuditRecordPublic(BaseModel):
    seq: int
    record_id: str
    at: datetime
    actor: str
    actor_role: str
    actor_organisation: str
    action: str
    resource_type: str
    resource_id: str | None
    subject: str | None
    outcome: str
    details: dict[str, Any]
    correlation_id: str | None
    prev_hash: str
    hash: str


@router.get("/audit", response_model=list[AuditRecordPublic])
async def read_audit(
    caller: AuditReader,
    request: Request,
    subject: Annotated[str | None, Query(max_length=20, pattern=r"^[A-Za-z0-9]+$")] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRecordPublic]:
    """Audit records in chain order, after ``after_seq`` (page with the last ``seq`` seen)."""
    database = request.app.state.database
    query = select(audit.AuditRecord).where(col(audit.AuditRecord.seq) > after_seq)
    if subject is not None:
        query = query.where(audit.AuditRecord.subject == subject.upper())
    async with database.transaction() as session:
        rows = (await session.exec(query.order_by(col(audit.AuditRecord.seq)).limit(limit))).all()
        found = [AuditRecordPublic(**{**row.model_dump(), "details": _details(row.details)}) for row in rows]
        await audit.record(
            session,
            audit.AuditEntry.by(
                caller,
                action="audit.read",
                resource_type="audit",
                subject=subject.upper() if subject else None,
                details={"after_seq": after_seq, "returned": len(found)},
                correlation_id=request.state.correlation_id,
            ),
            request.app.state.clock.now(),
        )
    return found


def _details(text: str) -> dict[str, Any]:
    import json

    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}
