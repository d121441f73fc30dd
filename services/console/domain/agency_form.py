"""The directory's agency form as data: from an agency to the form and back (the entry as handover returned it,
with only the form's fields replaced), and the admin API's refusals named by the field that holds them."""

from __future__ import annotations

import re
from typing import Any

from contracts.handover import AgencyKind
from services.console.domain.pack_wording import sentence

KINDS = [(kind.value, sentence(kind.label)) for kind in AgencyKind]
CODE = re.compile(r"^[A-Za-z0-9-]{1,20}$")
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


def values_of(agency: dict[str, Any]) -> dict[str, str]:
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


def agency_from_form(
    form: dict[str, str], existing: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The PUT body: the existing entry with the form's fields replaced (eligibility, priority and the rest are
    kept); a webhook only when the URL is given, with a secret only when one is typed."""
    errors: dict[str, str] = {}
    code = existing["code"] if existing else form.get("code", "").strip()
    if not CODE.match(code):
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
        paused = bool(((existing or {}).get("webhook") or {}).get("paused"))
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
