"""``POST /v1/outbox/replay``: an operator publishes this service's retained events of a window again (see
``services/common/outbox_replay.py`` for when and why); every service mounts it. Operators only: prison
healthcare, agencies and probation get 403."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.auth import OutboxReplayer
from services.common.outbox_replay import ReplayRefused, ReplayWindow, replay_outbox
from services.common.problems import Problem

router = APIRouter(prefix="/v1", tags=["outbox"])


class OutboxReplayRequest(BaseModel):
    # refuses fields it does not define, like every request body: a misspelt ``until`` must not widen the window
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime = Field(description="Publish again the events published at or after this time")
    until: AwareDatetime | None = Field(None, description="... and before this time (default: up to now)")


class OutboxReplayed(BaseModel):
    service: str
    since: datetime
    until: datetime | None
    rows: int = Field(description="Outbox rows taken back; the relay publishes them again in their order")
    by_topic: dict[str, int]


@router.post("/outbox/replay", response_model=OutboxReplayed, status_code=202)
async def replay(body: OutboxReplayRequest, caller: OutboxReplayer, request: Request) -> OutboxReplayed:
    """Take back the outbox rows published in the window, for the relay to publish again (audited)."""
    state = request.app.state
    try:
        done = await replay_outbox(
            database=state.database,
            actor=caller,
            window=ReplayWindow(body.since, body.until),
            now=state.clock.now(),
            replay_window=timedelta(hours=state.settings.relay_replay_window_hours),
            correlation_id=getattr(request.state, "correlation_id", None),
        )
    except ReplayRefused as refused:
        raise Problem(422, "Replay window refused", refused.detail, refused.kind, **refused.extensions) from None
    state.relay.wake()
    return OutboxReplayed(
        service=state.service_name, since=body.since, until=body.until, rows=done.rows, by_topic=done.by_topic
    )
