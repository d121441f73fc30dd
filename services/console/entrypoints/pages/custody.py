"""Prison healthcare: record a custody event for a person (release date changed, release cancelled, released,
transfer), validated with the API's own contract model before anything is sent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import NotFound, ServiceError
from services.console.domain.custody_form import KINDS, event_from_form
from services.console.entrypoints.pages.lounge import NAVIGATION
from services.console.entrypoints.web import (
    CsrfChecked,
    PageNotFound,
    Viewer,
    backend_of,
    clock_of,
    needs_role,
    redirect,
    render,
)

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]


async def _case(request: Request, viewer: Viewer, handover_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if len(handover_id) > 64:
        raise PageNotFound()
    backend = backend_of(request)
    handover = await backend.get_json(viewer.person, "handover", f"/v1/handovers/{handover_id}")
    prison_number = handover["pack"]["patient_demographics"]["prison_number"]
    try:
        log = await backend.get_json(viewer.person, "handover", f"/v1/people/{prison_number}/custody-events")
    except NotFound:
        log = []
    return handover, log


async def _form(
    request: Request, handover: dict[str, Any], values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    who = handover["pack"]["patient_demographics"]
    return await render(
        request,
        "custody_form.jinja",
        {
            "title": "Record a custody event",
            "navigation": NAVIGATION,
            "handover": handover,
            "who": who,
            "values": values,
            "errors": errors,
            "kinds": KINDS,
        },
        status_code=status_code,
    )


@router.get("/releases/{handover_id}/custody-events/new", response_class=HTMLResponse)
async def new_custody_event(request: Request, viewer: PrisonHealthcare, handover_id: str) -> HTMLResponse:
    handover, _ = await _case(request, viewer, handover_id)
    return await _form(request, handover, {}, {})


@router.post("/releases/{handover_id}/custody-events/new", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def record_custody_event(request: Request, viewer: PrisonHealthcare, handover_id: str) -> Response:
    handover, log = await _case(request, viewer, handover_id)
    form = {key: str(value)[:2000] for key, value in (await request.form()).items()}
    # The next of the person's sequence as the services have seen it, so the event is applied after them.
    sequence = max((entry["sequence"] for entry in log), default=0) + 1
    event, errors = event_from_form(form, handover=handover, sequence=sequence, now=clock_of(request).now())
    if event is None:
        return await _form(request, handover, form, errors, status_code=400)
    try:
        await backend_of(request).call(
            viewer.person,
            "release_events",
            "POST",
            "/v1/custody-events",
            json=event,
            expect=(200, 202),
            correlation_id=request.state.correlation_id,
        )
    except ServiceError as refused:
        if refused.status in (403, 422):
            detail = str(refused.problem.get("detail") or "The service refused this event")[:300]
            return await _form(request, handover, form, {"kind": detail}, status_code=400)
        raise
    return redirect(f"/releases/{handover_id}?recorded={event['kind']}")
