"""Operators: escalations, and the directory of services (list, add and edit an agency's coverage and endpoint,
rotate its signing secret). Everything goes through handover's and the notifier's admin APIs as the operator;
a secret is entered once, sent to handover's secret store, and never shown again (the page has no way to)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.console.adapters.backend import ServiceError
from services.console.entrypoints.pages.desk import NAVIGATION
from services.console.entrypoints.web import CsrfChecked, PageNotFound, Viewer, backend_of, needs_role, redirect, render

router = APIRouter()
Operator = Annotated[Viewer, needs_role("operator")]
KINDS = [
    ("gp_practice", "GP practice"),
    ("community_mental_health_team", "Community mental-health team"),
    ("reconnect", "RECONNECT"),
    ("substance_misuse_service", "Substance-misuse service"),
    ("probation_delivery_unit", "Probation delivery unit"),
    ("prison_healthcare", "Prison healthcare"),
]
_CODE = re.compile(r"^[A-Za-z0-9-]{1,20}$")
MESSAGES = {
    "code": "Enter a code of letters, digits and hyphens, up to 20 characters",
    "name": "Enter the agency's name",
    "kind": "Select what kind of agency this is",
    "districts": "Enter postcode districts such as DH1, separated by spaces or commas",
    "url": "Enter the endpoint's web address, starting https://",
    "secret": "Enter the signing secret the agency gave you, starting whsec_",
}
REFUSED = {
    "code": "The code was refused",
    "name": "The name was refused",
    "kind": "The kind was refused",
    "districts": "The area was refused",
    "url": "This web address was refused",
    "secret": "The signing secret was refused",
}
# Where the admin API's field pointers live on the form.
FIELDS = {
    "code": "code",
    "name": "name",
    "kind": "kind",
    "coverage": "districts",
    "webhook/url": "url",
    "webhook/secret": "secret",
    "webhook/secret_ref": "secret",
    "secret": "secret",
    "webhook": "url",
}


def _code(value: str) -> str:
    if not _CODE.match(value):
        raise PageNotFound()
    return value


@router.get("/desk/escalations", response_class=HTMLResponse)
async def escalations(request: Request, viewer: Operator) -> HTMLResponse:
    found = await backend_of(request).get_json(viewer.person, "notifier", "/v1/escalations")
    return await render(
        request, "escalations.jinja", {"title": "Escalations", "navigation": NAVIGATION, "escalations": found}
    )


@router.get("/desk/directory", response_class=HTMLResponse)
async def agencies(request: Request, viewer: Operator, done: str = "") -> HTMLResponse:
    found = await backend_of(request).get_json(viewer.person, "handover", "/v1/directory/agencies")
    return await render(
        request,
        "directory.jinja",
        {
            "title": "Directory of services",
            "navigation": NAVIGATION,
            "agencies": found,
            "done": done[:80],
            "kinds": dict(KINDS),
        },
    )


async def _agency(request: Request, viewer: Viewer, code: str) -> dict[str, Any]:
    agency: dict[str, Any] = await backend_of(request).get_json(
        viewer.person, "handover", f"/v1/directory/agencies/{_code(code)}"
    )
    return agency


def _values_of(agency: dict[str, Any]) -> dict[str, str]:
    coverage = agency.get("coverage") or {}
    return {
        "code": agency["code"],
        "name": agency["name"],
        "kind": agency["kind"],
        "districts": " ".join(coverage.get("postcode_districts") or []),
        "authorities": "\n".join(coverage.get("local_authorities") or []),
        "url": (agency.get("webhook") or {}).get("url", ""),
        "contact_email": agency.get("contact_email") or "",
    }


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
    return await _form(request, existing, _values_of(existing), {})


def agency_from_form(
    form: dict[str, str], existing: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The PUT body: the existing entry with the form's fields replaced (eligibility, priority and the rest are
    kept); a webhook only when the URL is given, with a secret only when one is typed."""
    errors: dict[str, str] = {}
    code = existing["code"] if existing else form.get("code", "").strip()
    if not _CODE.match(code):
        errors["code"] = MESSAGES["code"]
    name = form.get("name", "").strip()
    if not name:
        errors["name"] = MESSAGES["name"]
    kind = form.get("kind", "")
    if kind not in dict(KINDS):
        errors["kind"] = MESSAGES["kind"]
    districts = [part.upper() for part in re.split(r"[\s,]+", form.get("districts", "")) if part]
    authorities = [line.strip() for line in form.get("authorities", "").splitlines() if line.strip()]
    url, secret = form.get("url", "").strip(), form.get("secret", "").strip()
    had_endpoint = bool(existing and existing.get("webhook"))
    if not url and had_endpoint:
        errors["url"] = MESSAGES["url"]
    if url and not secret and not had_endpoint:
        errors["secret"] = MESSAGES["secret"]
    if errors:
        return None, errors
    body = {key: value for key, value in (existing or {}).items() if key not in ("source", "revision", "webhook")}
    body |= {
        "code": code,
        "name": name,
        "kind": kind,
        "contact_email": form.get("contact_email", "").strip() or None,
        "coverage": {"postcode_districts": districts, "local_authorities": authorities},
    }
    if url:
        paused = bool((existing or {}).get("webhook", {}) and existing["webhook"].get("paused"))  # type: ignore[index]
        body["webhook"] = {"url": url, "paused": paused} | ({"secret": secret} if secret else {})
    return body, {}


def errors_from_problem(problem: dict[str, Any]) -> dict[str, str]:
    """The admin API's refusals by form field, in its own words (an SSRF refusal says why the URL is unsafe)."""
    found: dict[str, str] = {}
    for error in problem.get("errors") or []:
        pointer = str(error.get("pointer") or "").lstrip("#/")
        field = next((FIELDS[key] for key in sorted(FIELDS, key=len, reverse=True) if pointer.startswith(key)), "code")
        found.setdefault(field, f"{REFUSED[field]}: {error.get('detail', 'not accepted')}"[:300])
    return found or {"code": str(problem.get("detail") or "The directory refused this change")[:300]}


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
