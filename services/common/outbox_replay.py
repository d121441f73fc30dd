"""An operator's replay of the outbox: the way back from an Apache Kafka retention accident.

Retention deleted records that a consumer had not read yet (a consumer stopped for longer than the topic's
retention, or retention set too short by mistake). The broker is the same cluster and its high-water marks are
intact, so the relay's own checks (``services/common/outbox_relay.py``) rightly see nothing wrong: expiry by
retention is normal operation. Only an operator knows that records were lost, and roughly since when.

``ttg outbox replay --since TIME [--until TIME]`` (``POST /v1/outbox/replay`` on each service) takes back the
rows the relay published in that window, with the same mechanism as the relay's own recovery
(``outbox_recovery.take_back``: ``published_at``, partition and offset cleared), so the relay publishes them again
in their original order, ahead of anything newer. Consumers' inboxes discard the copies already applied.

On PostgreSQL the take-back waits for the relay's advisory lock, so it never lands in the middle of a relay's
batch: everything taken back is published after what the relay had in hand, in id order.

The window is refused when it cannot mean what the operator wants: a bound in the future, a start not before
the end, or a start older than the replay window (``relay_replay_window_hours``, the topics' retention), which
is the outbox's safe point: older rows had left the topic by retention anyway, and are not sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text

from services.common import audit
from services.common.auth import Principal
from services.common.db import Database
from services.common.outbox_recovery import Republication, take_back
from services.common.outbox_relay import RELAY_LOCK_KEY

log = structlog.get_logger(__name__)

REASON = "operator_replay"


class ReplayRefused(Exception):
    """The window cannot be replayed; ``kind`` names the problem type, ``detail`` says why in words."""

    def __init__(self, kind: str, detail: str, **extensions: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail
        self.extensions: dict[str, Any] = dict(extensions)


@dataclass(frozen=True)
class ReplayWindow:
    since: datetime
    until: datetime | None = None


def check_window(window: ReplayWindow, *, now: datetime, replay_window: timedelta) -> None:
    """Refuse a window in the future, one that ends before it starts, or one older than the retained window."""
    if window.since.tzinfo is None or (window.until is not None and window.until.tzinfo is None):
        raise ReplayRefused("replay-window-invalid", "Give times with a UTC offset (for example 2026-12-01T09:00Z).")
    if window.since > now or (window.until is not None and window.until > now):
        raise ReplayRefused(
            "replay-window-in-future",
            "The window lies (partly) in the future: nothing has been published there yet.",
            now=now.isoformat(),
        )
    if window.until is not None and window.since >= window.until:
        raise ReplayRefused("replay-window-invalid", "The window must start (since) before it ends (until).")
    earliest = now - replay_window
    if window.since < earliest:
        raise ReplayRefused(
            "replay-window-beyond-retention",
            f"The window starts before the retained window of {replay_window.total_seconds() / 3600:g} hours "
            f"(relay_replay_window_hours, the topics' retention): rows older than that had left the topic by "
            f"retention and are not sent again. Start at {earliest.isoformat()} or later.",
            earliest=earliest.isoformat(),
        )


async def replay_outbox(
    *,
    database: Database,
    actor: Principal,
    window: ReplayWindow,
    now: datetime,
    replay_window: timedelta,
    correlation_id: str | None = None,
) -> Republication:
    """Take back the rows published in ``window`` for the relay to publish again; audited, with counts only."""
    check_window(window, now=now, replay_window=replay_window)
    details: dict[str, str | int] = {"since": window.since.isoformat()}
    if window.until is not None:
        details["until"] = window.until.isoformat()
    async with database.transaction() as session:
        if database.engine.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=RELAY_LOCK_KEY))
        republication = Republication(REASON, await take_back(session, since=window.since, until=window.until), details)
        await audit.record(
            session,
            audit.AuditEntry.by(
                actor,
                action="outbox.replayed",
                resource_type="outbox",
                details={"rows": republication.rows, "by_topic": republication.by_topic, **details},
                correlation_id=correlation_id,
            ),
            now,
        )
    log.warning(
        "outbox.replayed",
        reason=REASON,
        rows=republication.rows,
        by_topic=republication.by_topic,
        **details,
    )
    return republication
