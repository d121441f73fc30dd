"""Prison healthcare: record a custody event for a person (release date changed, release cancelled, released,
transfer), validated with the API's own contract model before anything is sent."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from contracts.custody import CustodyEventV1
from services.console.adapters.backend import NotFound, ServiceError
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
KINDS = [
    ("release_date_changed", "The release date has changed"),
    ("release_cancelled", "The release is cancelled"),
    ("released", "The person has been released"),
    ("transfer", "The person has moved to another prison"),
]
MESSAGES = {
    "kind": "Select what has happened",
    "release_date-day": "Enter the new release date",
    "to_establishment": "Enter the three-letter code of the prison the person moved to",
    "detail": "Say why, in 2000 characters or fewer",
}
FIELDS = {
    "kind": "kind",
    "release_date": "release_date-day",
    "establishment_code": "to_establishment",
    "from_establishment_code": "to_establishment",
    "detail": "detail",
}


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


def event_from_form(
    form: dict[str, str],
    *,
    handover: dict[str, Any],
    sequence: int,
    now: Any,
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    pack = handover["pack"]
    kind = form.get("kind", "")
    here = pack["release"]["establishment_code"]
    event: dict[str, Any] = {
        "prison_number": pack["patient_demographics"]["prison_number"],
        "sequence": sequence,
        "kind": kind,
        "establishment_code": here,
        "occurred_at": now.isoformat(),
        "detail": form.get("detail", "").strip() or None,
    }
    errors: dict[str, str] = {}
    if kind == "release_date_changed":
        try:
            event["release_date"] = date(
                int(form.get("release_date[year]", "")),
                int(form.get("release_date[month]", "")),
                int(form.get("release_date[day]", "")),
            ).isoformat()
        except ValueError:
            errors["release_date-day"] = MESSAGES["release_date-day"]
    if kind == "released":
        event["reason"] = "released"
    if kind == "transfer":
        moved_to = form.get("to_establishment", "").strip().upper()
        event |= {"establishment_code": moved_to, "from_establishment_code": here}
    try:
        CustodyEventV1.model_validate(event)
    except ValidationError as invalid:
        for error in invalid.errors():
            if not error["loc"] and errors:
                continue  # a rule about the whole event, already named by the field that broke it
            field = FIELDS.get(str(error["loc"][0]) if error["loc"] else "kind", "kind")
            errors.setdefault(field, MESSAGES[field])
    return (None, errors) if errors else (event, {})


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
