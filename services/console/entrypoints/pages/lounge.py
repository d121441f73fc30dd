"""Prison healthcare: the departure lounge (releases of its establishments with readiness per item) and the
person page (current pack, timeline, what each agency was sent)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.console.domain.lounge_rules import RECENT_DAYS, WINDOWS, LoungeView, view_of, window
from services.console.entrypoints.web import PageNotFound, Viewer, backend_of, clock_of, needs_role, render
from services.console.usecases.lounge import departure_lounge, release_of

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]
NAVIGATION = [{"href": "/lounge", "text": "Departure lounge"}, {"href": "/notices/new", "text": "New release notice"}]
Establishment = Annotated[str, Query(max_length=3)]
Search = Annotated[str, Query(max_length=100)]
View = Annotated[str, Query(max_length=10)]


async def _releases(
    request: Request, viewer: Viewer, establishment: str, days: int, q: str, view: LoungeView
) -> list[dict[str, Any]]:
    if establishment and establishment not in viewer.account.establishment_codes:
        raise PageNotFound()
    return await departure_lounge(
        services=backend_of(request),
        person=viewer.person,
        codes=[establishment] if establishment else list(viewer.account.establishment_codes),
        days=days,
        q=q,
        view=view,
        today=clock_of(request).now().date(),
    )


@router.get("/lounge", response_class=HTMLResponse)
async def lounge(
    request: Request,
    viewer: PrisonHealthcare,
    days: int = 14,
    establishment: Establishment = "",
    q: Search = "",
    sent: Annotated[str, Query(max_length=36)] = "",
    view: View = "upcoming",
) -> HTMLResponse:
    days, chosen = window(days), view_of(view)
    context = {
        "title": "Recently released" if chosen == LoungeView.RELEASED else "Departure lounge",
        "navigation": NAVIGATION,
        "releases": await _releases(request, viewer, establishment, days, q, chosen),
        "days": days,
        "q": q,
        "view": chosen.value,
        "recent_days": RECENT_DAYS,
        "establishment": establishment,
        "establishments": viewer.account.establishment_codes,
        "windows": WINDOWS,
        "sent": sent,
        "query": urlencode({"days": days, "establishment": establishment, "q": q, "view": chosen.value}),
    }
    return await render(request, "lounge.jinja", context)


@router.get("/lounge/releases", response_class=HTMLResponse)
async def lounge_fragment(
    request: Request,
    viewer: PrisonHealthcare,
    days: int = 14,
    establishment: Establishment = "",
    q: Search = "",
    view: View = "upcoming",
) -> HTMLResponse:
    """The list alone, for the page's script to refresh it in place (the page works without it)."""
    releases = await _releases(request, viewer, establishment, window(days), q, view_of(view))
    return await render(request, "_releases.jinja", {"releases": releases})


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
