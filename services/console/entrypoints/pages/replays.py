"""Operators: replay every failed or dead-lettered delivery of one agency, then watch them go out.

The page keeps no state of its own: the webhook ids the notifier re-sent travel in the address, and each is read
back from the notifier, so the progress shown is always what the notifier says now (and the page works without
its script through the Refresh link)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.console.domain.replay_rules import SHOWN, followable, progress_query
from services.console.entrypoints.pages.desk import NAVIGATION, Operator, desk_page
from services.console.entrypoints.web import CsrfChecked, PageNotFound, Viewer, backend_of, redirect, render
from services.console.usecases.replay_deliveries import ReplayRefused, replay_failed_deliveries, replay_progress

router = APIRouter()
AgencyCode = Annotated[str, Query(max_length=64)]
WebhookIds = Annotated[list[str] | None, Query()]
Total = Annotated[int, Query(ge=0, le=1_000_000)]


@router.post("/desk/replays", dependencies=[CsrfChecked])
async def replay_agency(request: Request, viewer: Operator) -> Response:
    """Re-send all of one agency's failed deliveries, then show their progress."""
    agency_code = str((await request.form()).get("agency_code", ""))[:64].strip()
    try:
        replayed = await replay_failed_deliveries(
            services=backend_of(request),
            person=viewer.person,
            agency_code=agency_code,
            correlation_id=request.state.correlation_id,
        )
    except ReplayRefused as refused:
        return await desk_page(request, viewer, errors={"agency_code": refused.message}, status_code=refused.status)
    return redirect(f"/desk/replays?{progress_query(agency_code, len(replayed), replayed[:SHOWN])}")


@dataclass(frozen=True)
class Followed:
    """The re-sent deliveries a progress address names (checked: plain ids, at most ``SHOWN``)."""

    agency_code: str
    webhook_ids: list[str]
    total: int


def followed(agency_code: AgencyCode = "", webhook_id: WebhookIds = None, total: Total = 0) -> Followed:
    if not followable(agency_code, webhook_id or []):
        raise PageNotFound()
    return Followed(agency_code, webhook_id or [], total)


FollowedDep = Annotated[Followed, Depends(followed)]


async def _progress(request: Request, viewer: Viewer, wanted: Followed) -> dict[str, Any]:
    return await replay_progress(
        services=backend_of(request),
        person=viewer.person,
        agency_code=wanted.agency_code,
        webhook_ids=wanted.webhook_ids,
        total=wanted.total,
    )


@router.get("/desk/replays", response_class=HTMLResponse)
async def replay_progress_page(request: Request, viewer: Operator, wanted: FollowedDep) -> HTMLResponse:
    progress = await _progress(request, viewer, wanted)
    context = {"title": f"Re-sending deliveries to {wanted.agency_code}", "navigation": NAVIGATION, **progress}
    return await render(request, "desk_replay.jinja", context)


@router.get("/desk/replays/progress", response_class=HTMLResponse)
async def replay_progress_fragment(request: Request, viewer: Operator, wanted: FollowedDep) -> HTMLResponse:
    """The progress alone, for the page's script to refresh it in place."""
    return await render(request, "_replay_progress.jinja", await _progress(request, viewer, wanted))
