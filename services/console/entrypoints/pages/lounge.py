"""Prison healthcare: the departure lounge (releases of its establishments with readiness per item) and the
person page (current pack, timeline, what each agency was sent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from services.console.domain.lounge_rules import RECENT_DAYS, WINDOWS, LoungeView, view_of, window
from services.console.entrypoints.web import PageNotFound, Viewer, backend_of, clock_of, needs_role, render
from services.console.usecases.read_releases import departure_lounge, release_of

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]
NAVIGATION = [
    {"href": "/lounge", "text": "Departure lounge"},
    {"href": "/notices/new", "text": "New release notice"},
    {"href": "/outcomes", "text": "Outcomes"},
]


@dataclass(frozen=True)
class LoungeFilter:
    """What the lounge shows: a window of days, one establishment (or all of the person's), a search, a view."""

    days: int
    establishment: str
    q: str
    view: LoungeView


def lounge_filter(
    days: int = 14,
    establishment: Annotated[str, Query(max_length=3)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    view: Annotated[str, Query(max_length=10)] = "upcoming",
) -> LoungeFilter:
    return LoungeFilter(window(days), establishment, q, view_of(view))


Filter = Annotated[LoungeFilter, Depends(lounge_filter)]


async def _releases(request: Request, viewer: Viewer, wanted: LoungeFilter) -> list[dict[str, Any]]:
    if wanted.establishment and wanted.establishment not in viewer.account.establishment_codes:
        raise PageNotFound()
    return await departure_lounge(
        services=backend_of(request),
        person=viewer.person,
        codes=[wanted.establishment] if wanted.establishment else list(viewer.account.establishment_codes),
        days=wanted.days,
        q=wanted.q,
        view=wanted.view,
        today=clock_of(request).now().date(),
    )


@router.get("/lounge", response_class=HTMLResponse)
async def lounge(
    request: Request, viewer: PrisonHealthcare, wanted: Filter, sent: Annotated[str, Query(max_length=36)] = ""
) -> HTMLResponse:
    query = {"days": wanted.days, "establishment": wanted.establishment, "q": wanted.q, "view": wanted.view.value}
    context = {
        "title": "Recently released" if wanted.view == LoungeView.RELEASED else "Departure lounge",
        "navigation": NAVIGATION,
        "releases": await _releases(request, viewer, wanted),
        **query,
        "recent_days": RECENT_DAYS,
        "establishments": viewer.account.establishment_codes,
        "windows": WINDOWS,
        "sent": sent,
        "query": urlencode(query),
    }
    return await render(request, "lounge.jinja", context)


@router.get("/lounge/releases", response_class=HTMLResponse)
async def lounge_fragment(request: Request, viewer: PrisonHealthcare, wanted: Filter) -> HTMLResponse:
    """The list alone, for the page's script to refresh it in place (the page works without it)."""
    return await render(request, "_releases.jinja", {"releases": await _releases(request, viewer, wanted)})


@router.get("/releases/{handover_id}", response_class=HTMLResponse)
async def person(
    request: Request,
    viewer: PrisonHealthcare,
    handover_id: str,
    recorded: Annotated[str, Query(max_length=30)] = "",
    corrected: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    if len(handover_id) > 64:
        raise PageNotFound()
    release = await release_of(services=backend_of(request), person=viewer.person, handover_id=handover_id)
    context = {
        "title": release.name,
        "navigation": NAVIGATION,
        "handover": release.handover,
        "pack": release.pack,
        "deliveries": release.deliveries,
        "timeline": release.timeline,
        "recorded": recorded,
        "corrected": corrected,
    }
    return await render(request, "person.jinja", context)
