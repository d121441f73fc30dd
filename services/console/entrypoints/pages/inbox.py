"""Agencies and probation: the inbox of handovers addressed to them (only their sections) and the answer form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import ServiceError
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
REASONS = [
    ("outside_area", "The address is outside our area"),
    ("not_eligible", "Not eligible for this service"),
    ("no_capacity", "No capacity"),
    ("declined", "The person declined"),
    ("other", "Another reason"),
]
FIELD_OF = {
    "first_appointment": "appt_date-day",
    "reason_code": "reason_code",
    "attended": "attended",
    "reporting_instructions": "office",
    "reporting_instructions.report_at": "report_date-day",
    "answer": "answer",
}


def needs_reconfirming(item: dict[str, Any]) -> bool:
    """Reporting instructions confirmed once, then made invalid by a change: the amended entry names the
    confirmation it invalidates (``invalidated``) and the referral awaits an answer again, so probation must
    confirm again. (An older pack that merely dropped stale instructions is read the same way.)"""
    if item["referral_kind"] != "reporting_instructions":
        return False
    sent = item["sent"]
    invalidated = any(
        entry.get("item") == "reporting_instructions_confirmation" for entry in sent.get("invalidated") or []
    )
    awaiting = item["status"] in ("requested", "received")
    return (invalidated and awaiting) or (
        item["status"] == "accepted" and not sent.get("pack", {}).get("reporting_instructions")
    )


def _annotated(item: dict[str, Any], today: date) -> dict[str, Any]:
    # The service escalates an unanswered referral 24 hours before the release day: answer by the day before.
    answer_by = date.fromisoformat(item["release_date"]) - timedelta(days=1)
    return item | {
        "answer_by": answer_by,
        "overdue": item["status"] in ("requested", "received") and today > answer_by,
        "reconfirm": needs_reconfirming(item),
        "changed": [c.get("section") for c in item["sent"].get("changes", [])],
    }


async def _worklist(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    code = viewer.account.organisation
    items = await backend_of(request).get_json(viewer.person, "handover", f"/v1/agencies/{code}/handovers")
    today = clock_of(request).now().date()
    return [_annotated(item, today) for item in items]


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


def _when(form: dict[str, str], prefix: str, clock: str) -> datetime | None:
    try:
        day = date(
            int(form.get(f"{prefix}[year]", "")),
            int(form.get(f"{prefix}[month]", "")),
            int(form.get(f"{prefix}[day]", "")),
        )
        hours, minutes = (int(part) for part in form.get(clock, "").strip().split(":"))
        return datetime.combine(day, time(hours, minutes), tzinfo=UTC)
    except ValueError:
        return None


def answer_from_form(form: dict[str, str], probation: bool) -> tuple[dict[str, Any] | None, dict[str, str]]:
    answer = form.get("answer", "")
    allowed = ("received", "confirmed") if probation else ("received", "accepted", "rejected", "completed")
    if answer not in allowed:
        return None, {"answer": "Select your answer"}
    body: dict[str, Any] = {"answer": answer}
    errors: dict[str, str] = {}
    if answer == "accepted":
        at = _when(form, "appt_date", "appt_time")
        if at is None:
            errors["appt_date-day"] = "Enter the date and time (like 14:30) of the first appointment"
        if not form.get("appt_place", "").strip():
            errors["appt_place"] = "Enter where the first appointment is"
        if at is not None:
            body["first_appointment"] = {"at": at.isoformat(), "place": form.get("appt_place", "").strip()[:200]}
    if answer == "rejected":
        if form.get("reason_code") not in {code for code, _ in REASONS}:
            errors["reason_code"] = "Select why you cannot accept this referral"
        body |= {"reason_code": form.get("reason_code"), "reason_text": form.get("reason_text", "").strip() or None}
    if answer == "completed":
        if form.get("attended") not in ("yes", "no"):
            errors["attended"] = "Select whether the person came to the first appointment"
        body["attended"] = form.get("attended") == "yes"
    if answer == "confirmed":
        at = _when(form, "report_date", "report_time")
        if not form.get("office", "").strip():
            errors["office"] = "Enter the probation office"
        if at is None:
            errors["report_date-day"] = "Enter the date and time (like 10:00) the person reports"
        if at is not None:
            body["reporting_instructions"] = {
                "office": form.get("office", "").strip()[:200],
                "report_at": at.isoformat(),
                "practitioner": form.get("practitioner", "").strip() or None,
            }
    return (None, errors) if errors else (body, {})


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
