"""Who an audit entry names."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.roles import Role
from services.handover.usecases.audit_entries import audit_entry


def test_the_caller_when_there_is_one_handover_itself_otherwise() -> None:
    caller = Principal("cmht-client", "CMHT-DUR", Role.AGENCY, frozenset(), frozenset())
    by_caller = audit_entry(caller, action="x", resource_type="referral")
    assert (by_caller.actor, by_caller.actor_organisation) == ("cmht-client", "CMHT-DUR")
    assert audit_entry(None, action="x", resource_type="referral").actor == "system:handover"
