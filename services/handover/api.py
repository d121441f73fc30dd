"""HTTP API of handover."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.common.auth import HandoverReader
from services.common.problems import Problem
from services.handover import service
from services.handover.reading import Disclosed, read_as

router = APIRouter(prefix="/v1")


class HandoverPublic(BaseModel):
    handover_id: str
    notice_id: str
    version: int
    issued_at: datetime
    sections: list[str] = Field(description="The sections of the pack this caller may see")
    pack: dict[str, Any] = Field(description="The handover pack, only the sections this caller may see")


def _public(seen: Disclosed) -> HandoverPublic:
    view = seen.view
    return HandoverPublic(
        handover_id=view.handover_id,
        notice_id=view.notice_id,
        version=view.version,
        issued_at=view.issued_at,
        sections=seen.sections,
        pack=seen.pack,
    )


@router.get("/handovers/{handover_id}", response_model=HandoverPublic)
async def get_handover(handover_id: str, caller: HandoverReader, request: Request) -> HandoverPublic:
    """The current version of a handover pack: the sections this caller may see."""
    view = await service.get_handover(database=request.app.state.database, handover_id=handover_id)
    if view is None:
        raise Problem(404, "Not found", "No handover has this id.", "not-found")
    return _public((await read_as(caller, [view], request, single=True))[0])


@router.get("/handovers", response_model=list[HandoverPublic])
async def find_handovers(
    caller: HandoverReader, request: Request, notice_id: str = Query(max_length=36)
) -> list[HandoverPublic]:
    """The handovers opened from one release notice that this caller may see (empty until processed)."""
    views = await service.find_handovers(database=request.app.state.database, notice_id=notice_id)
    return [_public(seen) for seen in await read_as(caller, views, request, single=False)]
