"""HTTP API of handover."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from contracts.handover import HandoverPack
from services.common.problems import Problem
from services.handover import service

router = APIRouter(prefix="/v1")


class HandoverPublic(BaseModel):
    handover_id: str
    notice_id: str
    version: int
    issued_at: datetime
    pack: HandoverPack


def _public(view: service.HandoverView) -> HandoverPublic:
    return HandoverPublic(
        handover_id=view.handover_id,
        notice_id=view.notice_id,
        version=view.version,
        issued_at=view.issued_at,
        pack=view.pack,
    )


@router.get("/handovers/{handover_id}", response_model=HandoverPublic)
async def get_handover(handover_id: str, request: Request) -> HandoverPublic:
    """The current version of a handover pack."""
    view = await service.get_handover(database=request.app.state.database, handover_id=handover_id)
    if view is None:
        raise Problem(404, "Not found", "No handover has this id.", "not-found")
    return _public(view)


@router.get("/handovers", response_model=list[HandoverPublic])
async def find_handovers(request: Request, notice_id: str = Query(max_length=36)) -> list[HandoverPublic]:
    """The handovers opened from one release notice (empty until the notice has been processed)."""
    views = await service.find_handovers(database=request.app.state.database, notice_id=notice_id)
    return [_public(view) for view in views]
