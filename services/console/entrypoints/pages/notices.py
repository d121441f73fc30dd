"""Prison healthcare: the release-notice form (NHS.UK error-summary pattern; nothing is sent until valid)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import ServiceError
from services.console.domain.notice_form import errors_from_problem, notice_from_form
from services.console.entrypoints.pages.lounge import NAVIGATION
from services.console.entrypoints.web import CsrfChecked, Viewer, backend_of, needs_role, redirect, render

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]
RELEASE_TYPES = [
    ("conditional", "Conditional release"),
    ("end_of_sentence", "End of sentence"),
    ("home_detention_curfew", "Home detention curfew"),
    ("parole", "Parole"),
    ("remand", "Remand"),
    ("early_release", "Early release"),
]


async def _form(
    request: Request, viewer: Viewer, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    return await render(
        request,
        "notice_form.jinja",
        {
            "title": "New release notice",
            "navigation": NAVIGATION,
            "values": values,
            "errors": errors,
            "establishments": viewer.account.establishment_codes,
            "release_types": RELEASE_TYPES,
        },
        status_code=status_code,
    )


@router.get("/notices/new", response_class=HTMLResponse)
async def new_notice(request: Request, viewer: PrisonHealthcare) -> HTMLResponse:
    values = {"submission_id": str(uuid.uuid4()), "destination": "address"}
    if len(viewer.account.establishment_codes) == 1:
        values["establishment_code"] = viewer.account.establishment_codes[0]
    return await _form(request, viewer, values, {})


@router.post("/notices/new", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def submit_notice(request: Request, viewer: PrisonHealthcare) -> Response:
    form = {key: str(value)[:2000] for key, value in (await request.form()).items()}
    contact = {"name": viewer.account.display_name, "role": "Prison healthcare", "email": viewer.account.email}
    notice, errors = notice_from_form(form, contact=contact)
    if notice is None:
        return await _form(request, viewer, form, errors, status_code=400)
    submission = form.get("submission_id", "")
    try:
        uuid.UUID(submission)
    except ValueError:
        submission = str(uuid.uuid4())
    try:
        answer = await backend_of(request).call(
            viewer.person,
            "release_events",
            "POST",
            "/v1/release-notices",
            json=notice,
            headers_extra={"Idempotency-Key": submission},
            expect=(200, 202),
            correlation_id=request.state.correlation_id,
        )
    except ServiceError as refused:
        if refused.status in (400, 403, 422) and refused.problem.get("errors"):
            return await _form(request, viewer, form, errors_from_problem(refused.problem), status_code=400)
        raise
    notice_id = answer.json()["notice_id"]
    return redirect(f"/lounge?sent={notice_id}")
