"""Outcomes: the outcomes dataset as charts with the same figures in tables, for operators (every establishment)
and prison healthcare (their own establishments: handover decides). Read from handover's report as the person."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import ServiceError
from services.console.entrypoints.pages.desk import NAVIGATION as OPERATOR_NAVIGATION
from services.console.entrypoints.pages.lounge import NAVIGATION as PRISON_NAVIGATION
from services.console.entrypoints.web import Viewer, backend_of, needs_role, render

router = APIRouter()
Reader = Annotated[Viewer, needs_role("operator", "prison_healthcare")]
REPORT = "/v1/reports/outcomes"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ESTABLISHMENT = re.compile(r"^[A-Za-z]{3}$")
ITEMS = {
    "gp": "GP registration",
    "medication": "Medication",
    "mental_health_referral": "Mental-health referral",
    "substance_misuse_referral": "Substance-misuse referral",
    "reporting_instructions": "Reporting instructions",
}
KINDS = {
    "gp_practice": "GP practices",
    "community_mental_health_team": "Community mental-health teams",
    "reconnect": "RECONNECT",
    "substance_misuse_service": "Substance-misuse services",
    "probation_delivery_unit": "Probation delivery units",
}


def _percent(figure: dict[str, Any]) -> int:
    return round(100 * (figure["value"] or 0))


def _share(label: str, figure: dict[str, Any]) -> dict[str, Any]:
    """A bar of a share: ``count`` of ``total``."""
    percent = _percent(figure)
    return {
        "label": label,
        "where": "{month}, {establishment}".format(**figure),
        "count": figure["count"],
        "total": figure["total"],
        "percent": percent,
        "share": f"{percent}%",
        "text": f"{percent}% ({figure['count']} of {figure['total']})",
    }


COLUMNS = {
    "releases": ("where", "released", "withdrawn"),
    "readiness": ("label", "where", "count", "total", "share"),
    "answers": ("label", "where", "count", "median", "p90"),
    "rejections": ("agency", "reason", "where", "count"),
    "routing": ("agency", "what", "where", "count"),
    "attended": ("label", "where", "count", "total", "share"),
}


def tables_of(charts: dict[str, list[dict[str, Any]]]) -> dict[str, list[list[str]]]:
    """Each chart's rows as the cells of its table: the same figures, for those who cannot see the bars."""
    return {name: [[str(row[key]) for key in COLUMNS[name]] for row in charts[name]] for name in COLUMNS}


def charts_of(figures: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The report's rows arranged for the page: one list per chart, each row with its label and bar length."""
    of = defaultdict(list)
    for figure in figures:
        of[figure["measure"]].append(figure)
    where = "{month}, {establishment}"
    longest = max((f["value"] or 0 for f in of["answer_hours_p90"]), default=0) or 1
    p90 = {(f["month"], f["establishment"], f["agency_kind"]): f["value"] for f in of["answer_hours_p90"]}
    withdrawn: dict[tuple[str, str], int] = defaultdict(int)
    for figure in of["withdrawn"]:
        withdrawn[(figure["month"], figure["establishment"])] += figure["count"]
    return {
        "releases": [
            {
                "where": where.format(**f),
                "released": f["count"],
                "withdrawn": withdrawn[(f["month"], f["establishment"])],
            }
            for f in of["releases"]
        ],
        "readiness": [_share(ITEMS.get(f["key"], f["key"]), f) for f in of["ready_before_release"]],
        "answers": [
            {
                "label": KINDS.get(f["agency_kind"], f["agency_kind"]),
                "where": where.format(**f),
                "count": f["count"],
                "median": f["value"],
                "p90": p90.get((f["month"], f["establishment"], f["agency_kind"])),
                "percent": round(100 * (f["value"] or 0) / longest),
                "text": f"median {f['value']} h",
            }
            for f in of["answer_hours_median"]
        ],
        "rejections": [
            {
                "agency": f["agency"],
                "reason": f["key"].replace("_", " "),
                "where": where.format(**f),
                "count": f["count"],
            }
            for f in of["rejections"]
        ],
        "routing": [
            {
                "agency": f["agency"],
                "what": "Re-routed" if f["measure"] == "reroutes" else "Escalated",
                "where": where.format(**f),
                "count": f["count"],
            }
            for f in of["reroutes"] + of["escalations"]
        ],
        "attended": [_share(f["agency"], f) for f in of["first_appointments_attended"]],
    }


def form_errors(values: dict[str, str]) -> dict[str, str]:
    """What is wrong with the filter as given, by field (empty fields are fine: they do not filter)."""
    errors = {
        name: "Enter a month such as 2026-12"
        for name in ("from", "to")
        if values[name] and not MONTH.match(values[name])
    }
    if values["establishment"] and not ESTABLISHMENT.match(values["establishment"]):
        errors["establishment"] = "Enter a prison's three-letter code, for example DMI"
    return errors


@router.get("/outcomes", response_class=HTMLResponse)
async def outcomes_page(
    request: Request,
    viewer: Reader,
    first: Annotated[str, Query(alias="from")] = "",
    last: Annotated[str, Query(alias="to")] = "",
    establishment: Annotated[str, Query()] = "",
) -> HTMLResponse:
    values = {"from": first.strip()[:20], "to": last.strip()[:20], "establishment": establishment.strip().upper()[:20]}
    errors = form_errors(values)
    figures: list[dict[str, Any]] = []
    if not errors:
        params = {name: value for name, value in values.items() if value}
        try:
            report = await backend_of(request).get_json(viewer.person, "handover", REPORT, params=params)
            figures = report["figures"]
        except ServiceError as refused:
            if refused.status != 403:
                raise
            errors["establishment"] = "You can see only your own prison's outcomes"
    navigation = OPERATOR_NAVIGATION if viewer.role == "operator" else PRISON_NAVIGATION
    context: dict[str, Any] = {
        "title": "Outcomes",
        "navigation": navigation,
        "values": values,
        "errors": errors,
    }
    charts = charts_of(figures)
    context |= {"charts": charts, "tables": tables_of(charts), "empty": not figures}
    return await render(request, "outcomes.jinja", context)
