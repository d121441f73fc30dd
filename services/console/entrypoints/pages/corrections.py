"""Prison healthcare: correct a notice. The form is prefilled from the current notice (read through
release_events with ``include=notice``); the whole corrected notice goes to the amendments API, which keeps the
notice's id, so handover amends the pack for the agencies whose sections changed instead of starting again.
The API's refusals (the person held elsewhere or released, a later notice, a bad field) are shown in the error
summary; nothing is half-sent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.domain.notice_form import corrected_notice, errors_from_problem, form_values_of
from services.console.entrypoints.pages.lounge import NAVIGATION
from services.console.entrypoints.pages.notices import RELEASE_TYPES
from services.console.entrypoints.web import CsrfChecked, PageNotFound, Viewer, backend_of, needs_role, redirect, render
from services.console.usecases.correct_notice import CorrectionRefused, correct_notice

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]
REASON = "Enter why the notice is corrected, in 500 characters or fewer"
# The API's conflicts, as the person reads them (the problem's own detail follows).
CONFLICTS = {
    "held-elsewhere": "This person is now held by another prison, so only that prison can correct the notice.",
    "not-in-custody": "This person is no longer in custody, so the notice cannot be corrected.",
    "notice-superseded": "A later notice for this person replaced this one. Correct the later notice instead.",
}


async def _current(request: Request, viewer: Viewer, handover_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handover (404 for another organisation's person) and the whole current notice it came from."""
    if len(handover_id) > 64:
        raise PageNotFound()
    backend = backend_of(request)
    handover = await backend.get_json(viewer.person, "handover", f"/v1/handovers/{handover_id}")
    status = await backend.get_json(
        viewer.person, "release_events", f"/v1/release-notices/{handover['notice_id']}", params={"include": "notice"}
    )
    if not status.get("notice"):
        raise PageNotFound()
    return handover, status["notice"]


async def _form(
    request: Request,
    viewer: Viewer,
    handover: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return await render(
        request,
        "notice_form.jinja",
        {
            "title": "Correct this notice",
            "navigation": NAVIGATION,
            "values": values,
            "errors": errors,
            "establishments": viewer.account.establishment_codes,
            "release_types": RELEASE_TYPES,
            "correcting": handover,
        },
        status_code=status_code,
    )


@router.get("/releases/{handover_id}/correct", response_class=HTMLResponse)
async def correction_form(request: Request, viewer: PrisonHealthcare, handover_id: str) -> HTMLResponse:
    handover, notice = await _current(request, viewer, handover_id)
    return await _form(request, viewer, handover, form_values_of(notice), {})


def _refusal(problem: dict[str, Any]) -> dict[str, str]:
    """A conflict (the person moved or released, a later notice) as the form's own problem; a bad field by name."""
    kind = str(problem.get("type", "")).rstrip("/").rsplit("/", 1)[-1]
    if kind in CONFLICTS:
        return {"correction": CONFLICTS[kind]}
    if problem.get("errors"):
        for error in problem["errors"]:
            error["pointer"] = str(error.get("pointer") or "").replace("#/notice/", "#/", 1)
        return errors_from_problem(problem)
    return {"correction": str(problem.get("detail") or problem.get("title") or "The correction was refused")[:300]}


@router.post("/releases/{handover_id}/correct", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def send_correction(request: Request, viewer: PrisonHealthcare, handover_id: str) -> Response:
    handover, current = await _current(request, viewer, handover_id)
    form = {key: str(value)[:2000] for key, value in (await request.form()).items()}
    notice, errors = corrected_notice(current, form)
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > 500:
        errors["reason"] = REASON
    if notice is None or errors:
        return await _form(request, viewer, handover, {**form_values_of(current), **form}, errors, status_code=400)
    try:
        changed = await correct_notice(
            services=backend_of(request),
            person=viewer.person,
            notice_id=handover["notice_id"],
            notice=notice,
            reason=reason,
            correlation_id=request.state.correlation_id,
        )
    except CorrectionRefused as refused:
        status = 409 if refused.status == 409 else 400
        values = {**form_values_of(current), **form}
        return await _form(request, viewer, handover, values, _refusal(refused.problem), status_code=status)
    return redirect(f"/releases/{handover_id}?corrected={'sent' if changed else 'unchanged'}")
