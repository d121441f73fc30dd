"""Operators: the desk. Dead-lettered deliveries with replay, endpoints with their state, pause and resume.
Operators see delivery metadata only (the notifier never gives them clinical content)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.entrypoints.web import CsrfChecked, PageNotFound, Viewer, backend_of, needs_role, redirect, render

router = APIRouter()
Operator = Annotated[Viewer, needs_role("operator")]
NAVIGATION = [
    {"href": "/desk", "text": "Deliveries and endpoints"},
    {"href": "/desk/escalations", "text": "Escalations"},
    {"href": "/desk/directory", "text": "Directory of services"},
    {"href": "/desk/people", "text": "People's accounts"},
    {"href": "/outcomes", "text": "Outcomes"},
]
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@router.get("/desk", response_class=HTMLResponse)
async def desk(request: Request, viewer: Operator, done: str = "") -> HTMLResponse:
    return await desk_page(request, viewer, done=done[:60])


async def desk_page(
    request: Request, viewer: Viewer, *, done: str = "", errors: dict[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    """The desk as it stands, with what was just done or what went wrong (shown in an error summary)."""
    backend = backend_of(request)
    dead: list[dict[str, Any]] = await backend.get_json(viewer.person, "notifier", "/v1/dead-letters")
    endpoints = await backend.get_json(viewer.person, "notifier", "/v1/endpoints")
    failing: dict[str, int] = {}
    for delivery in dead:
        failing[delivery["agency_code"]] = failing.get(delivery["agency_code"], 0) + 1
    return await render(
        request,
        "desk.jinja",
        {
            "title": "Deliveries and endpoints",
            "navigation": NAVIGATION,
            "dead_letters": dead,
            "endpoints": endpoints,
            "needing_attention": [e for e in endpoints if needs_attention(e, failing)],
            "working": [e for e in endpoints if not needs_attention(e, failing)],
            "done": done,
            "errors": errors or {},
            "failing": failing,
        },
        status_code=status_code,
    )


def needs_attention(endpoint: dict[str, Any], failing: dict[str, int]) -> bool:
    """Paused (by an operator or by the circuit breaker), or holding dead-lettered deliveries: shown first, the
    rest folded away, so a long list at 320 px does not hide the one that matters."""
    return endpoint.get("status") != "active" or failing.get(endpoint["agency_code"], 0) > 0


def _checked(value: str) -> str:
    if not _CODE.match(value):
        raise PageNotFound()
    return value


@router.post("/desk/dead-letters/{webhook_id}/replay", dependencies=[CsrfChecked])
async def replay(request: Request, viewer: Operator, webhook_id: str) -> Response:
    await backend_of(request).call(
        viewer.person,
        "notifier",
        "POST",
        f"/v1/dead-letters/{_checked(webhook_id)}/replay",
        expect=(200, 202),
        correlation_id=request.state.correlation_id,
    )
    return redirect("/desk?done=replayed")


@router.post("/desk/endpoints/{agency_code}/{action}", dependencies=[CsrfChecked])
async def change_endpoint(request: Request, viewer: Operator, agency_code: str, action: str) -> Response:
    if action not in ("pause", "resume"):
        raise PageNotFound()
    await backend_of(request).call(
        viewer.person,
        "notifier",
        "POST",
        f"/v1/endpoints/{_checked(agency_code)}/{action}",
        expect=(200,),
        correlation_id=request.state.correlation_id,
    )
    return redirect(f"/desk?done={'paused' if action == 'pause' else 'resumed'}")
