"""The person's own release-day summary: a printable page (and a PDF when printed) for the person leaving
prison. Only what they need, in short sentences: their GP, first appointments, each medicine and the day its
supply runs out, where and when to report, and who to call in a crisis. No diagnoses, risks or agency detail."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.console.entrypoints.web import PageNotFound, Viewer, backend_of, needs_role, render

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]
KIND_WORDS = {
    "mental_health": "Mental health team",
    "substance_misuse": "Drug and alcohol service",
    "gp_registration": "GP practice",
}


def summary_of(handover: dict[str, Any]) -> dict[str, Any]:
    pack = handover["pack"]
    released = date.fromisoformat(pack["release"]["date"])
    gp = pack.get("gp_practice") or {}
    registered = gp.get("registered") or {}
    requested = gp.get("registration_requested_from") or {}
    if registered:
        gp_text = f"Your GP practice is {registered.get('practice_name') or registered.get('ods_code')}."
    elif requested:
        gp_text = f"We have asked {requested.get('name')} to register you as a patient."
    else:
        gp_text = "Ask any GP practice near where you live to register you."
    appointments = [
        {
            "who": KIND_WORDS.get(r["referral_kind"], r["agency_code"]),
            "at": datetime.fromisoformat(r["first_appointment_at"]),
            "place": r.get("first_appointment_place") or "",
        }
        for r in handover["referrals"]
        if r.get("first_appointment_at") and r["status"] in ("accepted", "completed")
    ]
    medicines = [
        {
            "name": f"{m['name']} {m['strength']}",
            "how": f"{m['dose']}, {m['frequency']}",
            "runs_out": released + timedelta(days=int(m["supply_days_given"])),
        }
        for m in pack.get("medications") or []
    ]
    reporting = pack.get("reporting_instructions")
    for referral in handover["referrals"]:
        if referral["referral_kind"] == "reporting_instructions" and referral.get("reporting_instructions"):
            reporting = referral["reporting_instructions"]  # confirmed by probation: theirs wins
    return {
        "name": pack["patient_demographics"]["given_name"],
        "released": released,
        "gp": gp_text,
        "appointments": sorted(appointments, key=lambda a: a["at"]),
        "medicines": medicines,
        "reporting": {
            "office": reporting["office"],
            "at": datetime.fromisoformat(reporting["report_at"]),
            "practitioner": reporting.get("practitioner"),
        }
        if reporting
        else None,
    }


@router.get("/releases/{handover_id}/summary", response_class=HTMLResponse)
async def release_day_summary(request: Request, viewer: PrisonHealthcare, handover_id: str) -> HTMLResponse:
    if len(handover_id) > 64:
        raise PageNotFound()
    handover = await backend_of(request).get_json(viewer.person, "handover", f"/v1/handovers/{handover_id}")
    summary = summary_of(handover)
    return await render(
        request,
        "summary.jinja",
        {"title": f"Your release-day plan, {summary['name']}", "summary": summary, "handover_id": handover_id},
    )
