"""Operators: escalations, and the directory of services (list, add and edit an agency's coverage and endpoint,
rotate its signing secret). Everything goes through handover's and the notifier's admin APIs as the operator;
a secret is entered once, sent to handover's secret store, and never shown again (the page has no way to)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import ServiceError
from services.console.domain.agency_form import (
    CODE,
    KINDS,
    MESSAGES,
    agency_from_form,
    errors_from_problem,
    values_of,
)
from services.console.domain.directory_filter import matching
from services.console.entrypoints.pages.desk import NAVIGATION
from services.console.entrypoints.web import CsrfChecked, PageNotFound, Viewer, backend_of, needs_role, redirect, render

router = APIRouter()
Operator = Annotated[Viewer, needs_role("operator")]


def _code(value: str) -> str:
    if not CODE.match(value):
        raise PageNotFound()
    return value


@router.get("/desk/escalations", response_class=HTMLResponse)
async def escalations(request: Request, viewer: Operator) -> HTMLResponse:
    found = await backend_of(request).get_json(viewer.person, "notifier", "/v1/escalations")
    return await render(
        request, "escalations.jinja", {"title": "Escalations", "navigation": NAVIGATION, "escalations": found}
    )


@router.get("/desk/directory", response_class=HTMLResponse)
async def agencies(request: Request, viewer: Operator, done: str = "", q: str = "", kind: str = "") -> HTMLResponse:
    found = await backend_of(request).get_json(viewer.person, "handover", "/v1/directory/agencies")
    q, kind = q.strip()[:100], kind if kind in dict(KINDS) else ""
    return await render(
        request,
        "directory.jinja",
        {
            "title": "Directory of services",
            "navigation": NAVIGATION,
            "agencies": matching(found, q, kind),
            "total": len(found),
            "q": q,
            "kind": kind,
            "done": done[:80],
            "kinds": dict(KINDS),
            "kind_items": KINDS,
        },
    )


async def _agency(request: Request, viewer: Viewer, code: str) -> dict[str, Any]:
    agency: dict[str, Any] = await backend_of(request).get_json(
        viewer.person, "handover", f"/v1/directory/agencies/{_code(code)}"
    )
    return agency


async def _form(
    request: Request,
    existing: dict[str, Any] | None,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return await render(
        request,
        "agency_form.jinja",
        {
            "title": f"Change {existing['name']}" if existing else "Add an agency",
            "navigation": NAVIGATION,
            "existing": existing,
            "values": values,
            "errors": errors,
            "kinds": KINDS,
        },
        status_code=status_code,
    )


@router.get("/desk/directory/new", response_class=HTMLResponse)
async def new_agency(request: Request, viewer: Operator) -> HTMLResponse:
    return await _form(request, None, {}, {})


@router.get("/desk/directory/{code}", response_class=HTMLResponse)
async def edit_agency(request: Request, viewer: Operator, code: str) -> HTMLResponse:
    existing = await _agency(request, viewer, code)
    return await _form(request, existing, values_of(existing), {})


async def _save(request: Request, viewer: Viewer, existing: dict[str, Any] | None) -> Response:
    form = {key: str(value)[:4000] for key, value in (await request.form()).items()}
    body, errors = agency_from_form(form, existing)
    shown = {key: value for key, value in form.items() if key != "secret"}  # a secret is never sent back
    if body is None:
        return await _form(request, existing, shown, errors, status_code=400)
    try:
        await backend_of(request).call(
            viewer.person,
            "handover",
            "PUT",
            f"/v1/directory/agencies/{body['code']}",
            json=body,
            expect=(200, 201),
            correlation_id=request.state.correlation_id,
        )
    except ServiceError as refused:
        if refused.status in (400, 409, 422):
            return await _form(request, existing, shown, errors_from_problem(refused.problem), status_code=400)
        raise
    return redirect(f"/desk/directory?done={body['code']}+saved")


@router.post("/desk/directory/new", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def add_agency(request: Request, viewer: Operator) -> Response:
    return await _save(request, viewer, None)


@router.post("/desk/directory/{code}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def change_agency(request: Request, viewer: Operator, code: str) -> Response:
    return await _save(request, viewer, await _agency(request, viewer, code))


async def _rotation_form(
    request: Request, agency: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    return await render(
        request,
        "agency_secret.jinja",
        {
            "title": f"Rotate the secret of {agency['name']}",
            "navigation": NAVIGATION,
            "agency": agency,
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/desk/directory/{code}/secret", response_class=HTMLResponse)
async def rotation_form(request: Request, viewer: Operator, code: str) -> HTMLResponse:
    return await _rotation_form(request, await _agency(request, viewer, code), {})


@router.post("/desk/directory/{code}/secret", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def rotate_secret(request: Request, viewer: Operator, code: str) -> Response:
    agency = await _agency(request, viewer, code)
    form = await request.form()
    secret = str(form.get("secret", "")).strip()[:500]
    overlap = 0 if form.get("overlap") == "none" else 24 * 3600
    if not secret:
        return await _rotation_form(request, agency, {"secret": MESSAGES["secret"]}, status_code=400)
    try:
        await backend_of(request).call(
            viewer.person,
            "handover",
            "POST",
            f"/v1/directory/agencies/{agency['code']}/secret",
            json={"secret": secret, "overlap_seconds": overlap},
            expect=(200,),
            correlation_id=request.state.correlation_id,
        )
    except ServiceError as refused:
        if refused.status in (409, 422):
            detail = str(refused.problem.get("detail") or "The secret was refused")[:300]
            return await _rotation_form(
                request, agency, {"secret": f"The secret was not accepted: {detail}"}, status_code=400
            )
        raise
    return redirect(f"/desk/directory?done={agency['code']}+secret+rotated")
