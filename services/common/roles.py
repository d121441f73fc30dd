"""Who may do what: the roles API clients hold and the scopes each role may be granted.

A credential names one role; its scopes are a subset of the role's (``ROLE_SCOPES``), chosen when it is created.
Routes ask for a scope, never a role, so a client can be given less than its role allows.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRISON_HEALTHCARE = "prison_healthcare"
    AGENCY = "agency"
    PROBATION = "probation"
    OPERATOR = "operator"
    CONSOLE = "console"  # the console: acts for the people signed in to it (services.common.delegation)


class Scope(StrEnum):
    NOTICES_SUBMIT = "notices:submit"
    NOTICES_READ = "notices:read"
    CUSTODY_EVENTS_SUBMIT = "custody-events:submit"
    HANDOVERS_READ = "handovers:read"
    RELEASES_READ = "releases:read"
    ANSWERS_WRITE = "answers:write"
    REPORTING_CONFIRM = "reporting:confirm"
    DELIVERIES_READ = "deliveries:read"
    DEAD_LETTERS_MANAGE = "dead-letters:manage"
    DIRECTORY_MANAGE = "directory:manage"
    AUDIT_READ = "audit:read"
    OUTBOX_REPLAY = "outbox:replay"
    ACT_ON_BEHALF = "act-on-behalf"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.PRISON_HEALTHCARE: frozenset(
        {
            Scope.NOTICES_SUBMIT,
            Scope.NOTICES_READ,
            Scope.CUSTODY_EVENTS_SUBMIT,
            Scope.HANDOVERS_READ,
            Scope.RELEASES_READ,
            Scope.DELIVERIES_READ,
        }
    ),
    Role.AGENCY: frozenset({Scope.HANDOVERS_READ, Scope.ANSWERS_WRITE, Scope.DELIVERIES_READ}),
    Role.PROBATION: frozenset(
        {Scope.HANDOVERS_READ, Scope.ANSWERS_WRITE, Scope.REPORTING_CONFIRM, Scope.DELIVERIES_READ}
    ),
    Role.OPERATOR: frozenset(
        {
            Scope.DELIVERIES_READ,
            Scope.DEAD_LETTERS_MANAGE,
            Scope.DIRECTORY_MANAGE,
            Scope.AUDIT_READ,
            Scope.NOTICES_READ,
            Scope.OUTBOX_REPLAY,
        }
    ),
    Role.CONSOLE: frozenset({Scope.ACT_ON_BEHALF}),
}
