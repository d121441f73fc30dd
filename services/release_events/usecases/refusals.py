"""Use case: keep a record of a write the custody register refused (who tried what; no personal data in the log).

The refused write rolled back, so the record is written in a unit of work of its own. Its log line is written by
the route once that unit of work has committed (:func:`log_refusal`): under group commit, the end of the unit of
work only releases a savepoint of a batch that may still fail."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog

from services.common.audit import AuditEntry
from services.release_events.domain.custody_rules import Refused
from services.release_events.usecases.ports import ReleaseEventsUnitOfWork

log = structlog.get_logger(__name__)


async def record_refusal(
    *, uow: ReleaseEventsUnitOfWork, entry: AuditEntry, action: str, details: dict[str, Any], refused: Refused
) -> None:
    """Record ``entry`` (the caller, the person) as the refused ``action``, with the rule that refused it."""
    async with uow:
        await uow.audit.record(
            replace(
                entry,
                action=action,
                resource_type="custody_register",
                resource_id=None,
                outcome="refused",
                details={**details, "rule": refused.kind},
            )
        )


def log_refusal(refused: Refused, *, action: str) -> None:
    """The refusal's log line (the rule and the action refused), once its record has committed."""
    log.info("custody.refused", rule=refused.kind, action=action)
