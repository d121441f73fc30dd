"""Operators: replay every failed or dead-lettered delivery of one agency, then watch them go out.

The page keeps no state of its own: the webhook ids the notifier re-sent travel in the address, and each is read
back from the notifier, so the progress shown is always what the notifier says now (and the page works without
its script through the Refresh link)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.console.adapters.backend import NotFound, ServiceError
from services.console.entrypoints.pages.desk import NAVIGATION, Operator, desk_page
from services.console.entrypoints.web import CsrfChecked, PageNotFound, Viewer, backend_of, redirect, render

router = APIRouter()
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SHOWN = 100  # webhook ids carried in one address; more are re-sent all the same, the page follows the first ones
SETTLED_BAD = ("failed", "dead_lettered")


@router.post("/desk/replays", dependencies=[CsrfChecked])
async def replay_agency(request: Request, viewer: Operator) -> Response:
    """Re-send all of one agency's failed deliveries, then show their progress."""
    agency_code = str((await request.form()).get("agency_code", ""))[:64].strip()
    endpoints = await backend_of(request).get_json(viewer.person, "notifier", "/v1/endpoints")
    if agency_code not in {endpoint["agency_code"] for endpoint in endpoints}:
        return await desk_page(
            request,
            viewer,
            errors={"agency_code": "Select the agency whose failed deliveries to re-send"},
            status_code=400,
        )
    try:
        answer = await backend_of(request).call(
            viewer.person,
            "notifier",
            "POST",
            "/v1/dead-letters/replay",
            json={"agency_code": agency_code},
            expect=(200, 202),
            correlation_id=request.state.correlation_id,
        )
    except (NotFound, ServiceError):
        return await desk_page(
            request,
            viewer,
            errors={"agency_code": f"The deliveries to {agency_code} could not be re-sent. Nothing was changed."},
            status_code=502,
        )
    replayed: list[str] = answer.json()["replayed"]
    if not replayed:
        return await desk_page(
            request,
            viewer,
            errors={"agency_code": f"{agency_code} has no failed deliveries to re-send"},
            status_code=400,
        )
    query = urlencode({"agency_code": agency_code, "total": len(replayed), "webhook_id": replayed[:SHOWN]}, doseq=True)
    return redirect(f"/desk/replays?{query}")


def _checked(agency_code: str, webhook_ids: list[str]) -> None:
    if not _ID.match(agency_code) or not webhook_ids or len(webhook_ids) > SHOWN:
        raise PageNotFound()
    if not all(_ID.match(webhook_id) for webhook_id in webhook_ids):
        raise PageNotFound()


async def _one(request: Request, viewer: Viewer, webhook_id: str) -> dict[str, Any]:
    try:
        return await backend_of(request).get_json(viewer.person, "notifier", f"/v1/deliveries/{webhook_id}")
    except NotFound:
        return {"webhook_id": webhook_id, "status": "not_found", "last_error": "The notifier has no such delivery"}


async def _progress(
    request: Request, viewer: Viewer, agency_code: str, webhook_ids: list[str], total: int
) -> dict[str, Any]:
    _checked(agency_code, webhook_ids)
    deliveries = list(await asyncio.gather(*(_one(request, viewer, webhook_id) for webhook_id in webhook_ids)))
    query = urlencode({"agency_code": agency_code, "total": total, "webhook_id": webhook_ids}, doseq=True)
    return {
        "agency_code": agency_code,
        "deliveries": deliveries,
        "total": max(total, len(webhook_ids)),
        "delivered": sum(1 for delivery in deliveries if delivery["status"] == "delivered"),
        "failing": [delivery for delivery in deliveries if delivery["status"] in (*SETTLED_BAD, "not_found")],
        "query": query,
    }


@router.get("/desk/replays", response_class=HTMLResponse)
async def replay_progress(
    request: Request,
    viewer: Operator,
    agency_code: Annotated[str, Query(max_length=64)] = "",
    webhook_id: Annotated[list[str] | None, Query()] = None,
    total: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    progress = await _progress(request, viewer, agency_code, webhook_id or [], total)
    return await render(
        request,
        "desk_replay.jinja",
        {
            "title": f"Re-sending deliveries to {agency_code}",
            "navigation": NAVIGATION,
            **progress,
        },
    )


@router.get("/desk/replays/progress", response_class=HTMLResponse)
async def replay_progress_fragment(
    request: Request,
    viewer: Operator,
    agency_code: Annotated[str, Query(max_length=64)] = "",
    webhook_id: Annotated[list[str] | None, Query()] = None,
    total: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    """The progress alone, for the page's script to refresh it in place."""
    progress = await _progress(request, viewer, agency_code, webhook_id or [], total)
    return await render(request, "_replay_progress.jinja", progress)
