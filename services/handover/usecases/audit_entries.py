"""Who an audit entry names: the authenticated caller when there is one, handover itself otherwise."""

from __future__ import annotations

from typing import Any

from services.common.audit import AuditEntry
from services.common.auth import Principal


def audit_entry(actor: Principal | None, **what: Any) -> AuditEntry:
    return AuditEntry.by(actor, **what) if actor else AuditEntry.system("handover", **what)
