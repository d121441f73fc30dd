"""Prison healthcare: the departure lounge (releases of its establishments with readiness per item) and the
person page (current pack, timeline, what each agency was sent)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import NotFound
from services.console.entrypoints.web import PageNotFound, Viewer, backend_of, clock_of, needs_role, render

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]
WINDOWS = (7, 14, 28)
RECENT_DAYS = 14
VIEWS = ("upcoming", "released")
ORDER = {"at_risk": 0, "pending": 1}
NAVIGATION = [{"href": "/lounge", "text": "Departure lounge"}, {"href": "/notices/new", "text": "New release notice"}]


def _matches(release: dict[str, Any], q: str) -> bool:
    wanted = q.strip().lower()
    name = f"{release['given_name']} {release['family_name']}".lower()
    return not wanted or wanted in name or wanted == release["prison_number"].lower()


async def _releases(
    request: Request, viewer: Viewer, establishment: str, days: int, q: str, view: str = "upcoming"
) -> list[dict[str, Any]]:
    today = clock_of(request).now().date()
    found: list[dict[str, Any]] = []
    codes = [establishment] if establishment else list(viewer.account.establishment_codes)
    params: dict[str, str] = {"from": today.isoformat(), "to": (today + timedelta(days=days)).isoformat()}
    if view == "released":
        # Released already, by release date: the last 14 days, and later dates for anyone let go early.
        params = {
            "state": "released",
            "from": (today - timedelta(days=RECENT_DAYS)).isoformat(),
            "to": (today + timedelta(days=max(WINDOWS))).isoformat(),
        }
    if q.strip():
        params["q"] = q.strip()  # the service may search (newer handover); filtered here as well in case not
    for code in codes:
        answer = await backend_of(request).get_json(
            viewer.person, "handover", f"/v1/establishments/{code}/releases", params=params
        )
        items = answer.get("items", []) if isinstance(answer, dict) else answer
        found.extend(release | {"establishment_code": code} for release in items if _matches(release, q))
    if view == "released":  # most recent first, with the readiness they left with
        return sorted(found, key=lambda r: (r["release_date"], r["family_name"]), reverse=True)
    return sorted(found, key=lambda r: (ORDER.get(r["readiness"]["status"], 2), r["release_date"], r["family_name"]))


def _window(days: int) -> int:
    return days if days in WINDOWS else 14


@router.get("/lounge", response_class=HTMLResponse)
async def lounge(
    request: Request,
    viewer: PrisonHealthcare,
    days: int = 14,
    establishment: Annotated[str, Query(max_length=3)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    sent: Annotated[str, Query(max_length=36)] = "",
    view: Annotated[str, Query(max_length=10)] = "upcoming",
) -> HTMLResponse:
    if establishment and establishment not in viewer.account.establishment_codes:
        raise PageNotFound()
    days, view = _window(days), view if view in VIEWS else "upcoming"
    releases = await _releases(request, viewer, establishment, days, q, view)
    return await render(
        request,
        "lounge.jinja",
        {
            "title": "Recently released" if view == "released" else "Departure lounge",
            "navigation": NAVIGATION,
            "releases": releases,
            "days": days,
            "q": q,
            "view": view,
            "recent_days": RECENT_DAYS,
            "establishment": establishment,
            "establishments": viewer.account.establishment_codes,
            "windows": WINDOWS,
            "sent": sent,
            "query": urlencode({"days": days, "establishment": establishment, "q": q, "view": view}),
        },
    )


@router.get("/lounge/releases", response_class=HTMLResponse)
async def lounge_fragment(
    request: Request,
    viewer: PrisonHealthcare,
    days: int = 14,
    establishment: Annotated[str, Query(max_length=3)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    view: Annotated[str, Query(max_length=10)] = "upcoming",
) -> HTMLResponse:
    """The list alone, for the page's script to refresh it in place (the page works without it)."""
    if establishment and establishment not in viewer.account.establishment_codes:
        raise PageNotFound()
    releases = await _releases(request, viewer, establishment, _window(days), q, view if view in VIEWS else "upcoming")
    return await render(request, "_releases.jinja", {"releases": releases})


@router.get("/releases/{handover_id}", response_class=HTMLResponse)
async def person(
    request: Request,
    viewer: PrisonHealthcare,
    handover_id: str,
    recorded: Annotated[str, Query(max_length=30)] = "",
    corrected: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    backend = backend_of(request)
    if len(handover_id) > 64:
        raise PageNotFound()
    handover = await backend.get_json(viewer.person, "handover", f"/v1/handovers/{handover_id}")
    pack = handover["pack"]
    deliveries = await backend.get_json(
        viewer.person, "notifier", "/v1/deliveries", params={"handover_id": handover_id}
    )
    try:
        custody = await backend.get_json(
            viewer.person, "handover", f"/v1/people/{pack['patient_demographics']['prison_number']}/custody-events"
        )
    except NotFound:
        custody = []
    return await render(
        request,
        "person.jinja",
        {
            "title": f"{pack['patient_demographics']['given_name']} {pack['patient_demographics']['family_name']}",
            "navigation": NAVIGATION,
            "handover": handover,
            "pack": pack,
            "deliveries": deliveries,
            "timeline": timeline(handover, deliveries, custody),
            "recorded": recorded,
            "corrected": corrected,
        },
    )


def timeline(
    handover: dict[str, Any], deliveries: list[dict[str, Any]], custody: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """What happened to this release, newest first: versions, each agency's delivery and answer, custody events."""
    entries = [{"at": handover["issued_at"], "what": f"Handover pack version {handover['version']} issued"}]
    for delivery in deliveries:
        entries.append(
            {
                "at": delivery.get("finished_at") or delivery["created_at"],
                "what": f"Sent to {delivery['agency_code']}: {delivery['status'].replace('_', ' ')}",
            }
        )
    for referral in handover["referrals"]:
        if referral["status"] != "requested":
            detail = referral.get("reason_text") or ""
            if referral.get("first_appointment_at"):
                detail = f"first appointment {referral['first_appointment_at'][:16].replace('T', ' ')}"
            what = f"{referral['agency_code']} {referral['status']}" + (f": {detail}" if detail else "")
            entries.append({"at": referral["updated_at"], "what": what})
    for event in custody:
        entries.append(
            {
                "at": event["recorded_at"],
                "what": f"Custody event: {event['kind'].replace('_', ' ')} ({event['outcome']})",
            }
        )
    return sorted(entries, key=lambda e: e["at"], reverse=True)


def days_until(day: str, today: date) -> int:
    return (date.fromisoformat(day) - today).days
