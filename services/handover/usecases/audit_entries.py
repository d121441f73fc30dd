"""Who an audit entry names: the authenticated caller when there is one, handover itself otherwise."""

from __future__ import annotations

from typing import Any

from services.common.audit import AuditEntry
from services.common.auth import Principal


def audit_entry(actor: Principal | None, **what: Any) -> AuditEntry:
    return AuditEntry.by(actor, **what) if actor else AuditEntry.system("handover", **what)


def referral_entry(
    actor: Principal | None,
    action: str,
    *,
    referral_id: str,
    prison_number: str,
    correlation_id: str | None,
    details: dict[str, Any],
) -> AuditEntry:
    """What happened to one referral, about one person."""
    return audit_entry(
        actor,
        action=action,
        resource_type="referral",
        resource_id=referral_id,
        subject=prison_number,
        correlation_id=correlation_id,
        details=details,
    )
