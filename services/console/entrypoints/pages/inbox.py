"""Agencies and probation: the inbox of handovers addressed to them (only their sections) and the answer form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import ServiceError
from services.console.domain.answer_form import FIELD_OF, REASONS, annotated, answer_from_form
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
Agency = Annotated[Viewer, needs_role("agency", "probation")]
NAVIGATION = [{"href": "/inbox", "text": "Inbox"}]


async def _worklist(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    code = viewer.account.organisation
    items = await backend_of(request).get_json(viewer.person, "handover", f"/v1/agencies/{code}/handovers")
    today = clock_of(request).now().date()
    return [annotated(item, today) for item in items]


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, viewer: Agency, answered: str = "") -> HTMLResponse:
    items = await _worklist(request, viewer)
    return await render(
        request, "inbox.jinja", {"title": "Inbox", "navigation": NAVIGATION, "items": items, "answered": answered[:20]}
    )


async def _item(request: Request, viewer: Viewer, referral_id: str) -> dict[str, Any]:
    found = next((item for item in await _worklist(request, viewer) if item["referral_id"] == referral_id), None)
    if found is None:
        raise PageNotFound()
    return found


async def _page(
    request: Request,
    viewer: Viewer,
    item: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    sent = item["sent"].get("pack", {})  # what the agency was sent: only the sections of its kind
    who = sent.get("patient_demographics", {})
    return await render(
        request,
        "referral.jinja",
        {
            "title": f"{who.get('given_name', '')} {who.get('family_name', '')}".strip() or "Referral",
            "navigation": NAVIGATION,
            "item": item,
            "sent": sent,
            "values": values,
            "errors": errors,
            "reasons": REASONS,
            "probation": viewer.role == "probation",
        },
        status_code=status_code,
    )


@router.get("/inbox/{referral_id}", response_class=HTMLResponse)
async def referral(request: Request, viewer: Agency, referral_id: str) -> HTMLResponse:
    return await _page(request, viewer, await _item(request, viewer, referral_id), {}, {})


@router.post("/inbox/{referral_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def answer(request: Request, viewer: Agency, referral_id: str) -> Response:
    item = await _item(request, viewer, referral_id)
    form = {key: str(value)[:2000] for key, value in (await request.form()).items()}
    body, errors = answer_from_form(form, viewer.role == "probation")
    if body is None:
        return await _page(request, viewer, item, form, errors, status_code=400)
    try:
        await backend_of(request).call(
            viewer.person,
            "handover",
            "POST",
            item["answer_url"],
            json=body,
            expect=(200, 201),
            correlation_id=request.state.correlation_id,
        )
    except ServiceError as refused:
        if refused.status in (409, 422):
            fields = [error.get("field", "answer") for error in refused.problem.get("errors") or [{}]]
            detail = str(refused.problem.get("detail") or "This answer does not fit the referral")
            return await _page(
                request,
                viewer,
                item,
                form,
                {FIELD_OF.get(field, "answer"): detail[:300] for field in fields},
                status_code=400,
            )
        raise
    return redirect(f"/inbox?answered={body['answer']}")
