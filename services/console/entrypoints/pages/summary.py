"""The person's own release-day summary: a printable page (and a PDF when printed) for the person leaving
prison. Only what they need, in short sentences: their GP, first appointments, each medicine and the day its
supply runs out, where and when to report, and who to call in a crisis. No diagnoses, risks or agency detail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.console.domain.release_summary import summary_of
from services.console.entrypoints.web import PageNotFound, Viewer, backend_of, needs_role, render

router = APIRouter()
PrisonHealthcare = Annotated[Viewer, needs_role("prison_healthcare")]


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
