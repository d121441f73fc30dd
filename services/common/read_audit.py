"""One audit record per read that discloses personal data, made by the route in one line.

Who read (client, role, organisation), what kind of thing, and what it disclosed: the ids of the resources or
how many, never their content. A read of one person's data names that person's prison number as the subject,
so a subject-access export finds it; a list names the ids it disclosed in ``details`` instead.

The record is written in a transaction of its own after the data was gathered and before the answer is sent:
if it cannot be written the read fails, so nothing is disclosed without its record.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.common.audit import AuditEntry, append
from services.common.auth import Principal


async def audit_read(
    request: Request,
    caller: Principal,
    action: str,
    resource_type: str,
    *,
    resource_id: str | None = None,
    subject: str | None = None,
    **disclosed: Any,
) -> None:
    """Record that ``caller`` read ``resource_type`` (``resource_id``) and what it was shown (``disclosed``)."""
    state = request.app.state
    await append(
        state.database,
        AuditEntry.by(
            caller,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            subject=subject,
            details=disclosed,
            correlation_id=getattr(request.state, "correlation_id", None),
        ),
        state.clock.now(),
    )
