"""HTTP: the outcomes report, as JSON or CSV (the same rows).

Who reads what (docs/security.md): operators everything; prison healthcare the releases of its own
establishments; an agency or probation unit the figures of its own referrals only, never an establishment's
readiness. Naming another establishment or agency is refused with 403 naming the parameter (the caller chose
it); the filters only ever narrow what the reader may see.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Security
from fastapi.responses import Response
from pydantic import BaseModel

from services.common.auth import Principal, current_principal
from services.common.problems import Problem
from services.common.read_audit import audit_read
from services.common.roles import Role
from services.handover.domain.outcomes import Figure
from services.handover.entrypoints.api.deps import UnitOfWorkDep
from services.handover.usecases.outcomes import ReportScope, outcomes_report

router = APIRouter(prefix="/v1")

ReportReader = Annotated[Principal, Security(current_principal)]
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_MONTHS = 36
COLUMNS = ["month", "establishment", "agency_kind", "agency", "measure", "key", "count", "total", "value"]


class OutcomesReport(BaseModel):
    first_month: str
    last_month: str
    figures: list[Figure]


def _refused(parameter: str, detail: str) -> Problem:
    errors = [{"field": parameter, "pointer": f"#/{parameter}", "detail": detail}]
    return Problem(
        403, "Forbidden", f"This client may not read the outcomes of this {parameter}.", "forbidden", errors=errors
    )


def reader_scope(caller: Principal, establishment: str | None, agency: str | None) -> ReportScope:
    """What ``caller`` may see, narrowed by its filters."""
    chosen = frozenset({establishment}) if establishment else None
    if caller.role == Role.OPERATOR:
        return ReportScope(chosen, agency, releases=True)
    if caller.role == Role.PRISON_HEALTHCARE:
        if establishment and establishment not in caller.establishments:
            raise _refused("establishment", "not an establishment of this client")
        return ReportScope(chosen or caller.establishments, agency, releases=True)
    if caller.role in (Role.AGENCY, Role.PROBATION):
        if agency and agency != caller.organisation:
            raise _refused("agency", "not this client's organisation")
        return ReportScope(chosen, caller.organisation, releases=False)
    raise Problem(403, "Forbidden", "This client may not read reports.", "forbidden")


def _month(value: str | None, parameter: str, default: date) -> date:
    if value is None:
        return default
    found = MONTH.match(value)
    if found is None:
        errors = [{"field": parameter, "pointer": f"#/{parameter}", "detail": "a month as YYYY-MM"}]
        raise Problem(422, "Invalid request", f"'{parameter}' is not a month (YYYY-MM).", "validation", errors=errors)
    return date(int(found[1]), int(found[2]), 1)


def _months(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    end = _month(last, "to", today.replace(day=1))
    start = _month(first, "from", end)
    span = (end.year - start.year) * 12 + end.month - start.month
    if not 0 <= span < MAX_MONTHS:
        errors = [{"field": "to", "pointer": "#/to", "detail": f"from 'from', within {MAX_MONTHS} months"}]
        raise Problem(422, "Invalid request", "'to' is before 'from' or too far after it.", "validation", errors=errors)
    return start, end


def as_csv(figures: list[Figure]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for figure in figures:
        writer.writerow({**asdict(figure), "measure": figure.measure.value})
    return out.getvalue()


Code = Annotated[str | None, Query(max_length=20, pattern=r"^[A-Za-z0-9-]+$")]


@router.get(
    "/reports/outcomes",
    response_model=OutcomesReport,
    responses={200: {"content": {"text/csv": {}}, "description": "The figures, as JSON or CSV (the same rows)"}},
)
async def outcomes(
    caller: ReportReader,
    request: Request,
    unit_of_work: UnitOfWorkDep,
    establishment: Code = None,
    agency: Code = None,
    from_: Annotated[str | None, Query(alias="from", description="First month, YYYY-MM (default: `to`)")] = None,
    to: Annotated[str | None, Query(description="Last month, YYYY-MM (default: this month)")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="csv, or send Accept: text/csv")] = None,
) -> OutcomesReport | Response:
    """The outcomes dataset by month (when the case ended), establishment and agency: releases, withdrawals,
    readiness before release per item, answer times per agency kind (median, 90th percentile, in hours),
    rejections by reason, re-routes, escalations and first appointments attended."""
    scope = reader_scope(caller, establishment and establishment.upper(), agency and agency.upper())
    first, last = _months(from_, to, request.app.state.clock.now().date())
    figures = await outcomes_report(uow=unit_of_work, first_month=first, last_month=last, scope=scope)
    await audit_read(request, caller, "outcomes.read", "report", resource_id="outcomes", figures=len(figures))
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        return Response(as_csv(figures), media_type="text/csv; charset=utf-8")
    return OutcomesReport(first_month=f"{first:%Y-%m}", last_month=f"{last:%Y-%m}", figures=figures)
