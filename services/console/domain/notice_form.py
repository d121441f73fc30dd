"""The release-notice form as data: from the form's fields to a release notice, and every problem named by the
field that holds it (the NHS.UK error-summary pattern needs a message and a link target per field).

The console validates with the same contract model the API uses (``contracts.release_notice``), so a notice
with a bad field is never sent, and nothing is stored; whatever the API still refuses is mapped back the same way.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from contracts.release_notice import ReleaseNoticeV1

# Field of the form -> the message a person reads (NHS.UK style: say what to do).
MESSAGES = {
    "prison_number": "Enter a prison number in the format A1234BC",
    "nhs_number": "Enter a valid 10-digit NHS number, or leave it blank if it is not known",
    "given_name": "Enter the person's first name",
    "family_name": "Enter the person's last name",
    "date_of_birth-day": "Enter a real date of birth",
    "establishment_code": "Select the establishment",
    "release_date-day": "Enter a real release date after the date of birth",
    "release_type": "Select the type of release",
    "address_line_1": "Enter the first line of the address, or select no fixed abode",
    "town": "Enter the town or city",
    "postcode": "Enter a full UK postcode, like DH1 1AA",
    "last_known_local_authority": "Enter the last known local authority",
    "registered_gp": "Enter the practice's ODS code, like A81001, or leave it blank",
    "mh_urgency": "Select how urgent the mental-health referral is",
    "mh_consent": "Select whether the person consents to share their mental-health information",
    "med_name": "Enter the medicine's name, strength, dose, how often, how it is taken and the days supplied",
    "med_supply_days": "Enter the days of supply given, from 0 to 90",
    "contact_phone": "Enter a phone number for the prison healthcare contact",
}
ORDER = list(MESSAGES)

# Where a contract field lives on the form.
LOCATIONS = {
    ("prison_number",): "prison_number",
    ("nhs_number",): "nhs_number",
    ("given_name",): "given_name",
    ("family_name",): "family_name",
    ("date_of_birth",): "date_of_birth-day",
    ("establishment_code",): "establishment_code",
    ("release", "date"): "release_date-day",
    ("release", "type"): "release_type",
    ("release", "destination", "address", "lines"): "address_line_1",
    ("release", "destination", "address", "town"): "town",
    ("release", "destination", "address", "postcode"): "postcode",
    ("release", "destination"): "address_line_1",
    ("release", "destination", "last_known_local_authority"): "last_known_local_authority",
    ("registered_gp",): "registered_gp",
    ("mental_health", "urgency"): "mh_urgency",
    ("mental_health", "consent_to_share"): "mh_consent",
    ("medications",): "med_name",
    ("prison_contact",): "contact_phone",
    ("release",): "release_date-day",
}


def _located(loc: tuple[Any, ...]) -> str:
    path = tuple(part for part in loc if isinstance(part, str))
    for length in range(len(path), 0, -1):
        if path[:length] in LOCATIONS:
            return LOCATIONS[path[:length]]
    if path[:1] == ("medications",):
        return "med_supply_days" if "supply_days_given" in path else "med_name"
    return "prison_number"


def _date(form: dict[str, str], prefix: str) -> str | None:
    try:
        return date(
            int(form.get(f"{prefix}[year]", "")),
            int(form.get(f"{prefix}[month]", "")),
            int(form.get(f"{prefix}[day]", "")),
        ).isoformat()
    except ValueError:
        return None


def _text(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def notice_from_form(form: dict[str, str], *, contact: dict[str, str]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(the notice as the API takes it, no errors) or (None, message per form field, in form order)."""
    errors: dict[str, str] = {}
    born, leaves = _date(form, "date_of_birth"), _date(form, "release_date")
    if born is None:
        errors["date_of_birth-day"] = MESSAGES["date_of_birth-day"]
    if leaves is None:
        errors["release_date-day"] = MESSAGES["release_date-day"]
    if form.get("destination") == "no_fixed_abode":
        destination: dict[str, Any] = {
            "kind": "no_fixed_abode",
            "last_known_local_authority": _text(form, "last_known_local_authority"),
        }
    else:
        lines = [line for line in (_text(form, "address_line_1"), _text(form, "address_line_2")) if line]
        destination = {
            "kind": "address",
            "address": {
                "lines": lines,
                "town": _text(form, "town"),
                "postcode": (_text(form, "postcode") or "").upper(),
            },
        }
    notice: dict[str, Any] = {
        "prison_number": (_text(form, "prison_number") or "").upper(),
        "nhs_number": (_text(form, "nhs_number") or "").replace(" ", "") or None,
        "given_name": _text(form, "given_name"),
        "family_name": _text(form, "family_name"),
        "date_of_birth": born or "1900-01-01",
        "establishment_code": _text(form, "establishment_code"),
        "release": {"date": leaves or "2100-01-01", "type": _text(form, "release_type"), "destination": destination},
        "prison_contact": {**contact, "phone": _text(form, "contact_phone")},
    }
    if _text(form, "registered_gp"):
        notice["registered_gp"] = {"ods_code": (_text(form, "registered_gp") or "").upper()}
    if _text(form, "mh_urgency"):
        notice["mental_health"] = {
            "urgency": _text(form, "mh_urgency"),
            "consent_to_share": {"yes": True, "no": False}.get(form.get("mh_consent", "")),
            "summary": _text(form, "mh_summary"),
        }
    if any(_text(form, name) for name in ("med_name", "med_strength", "med_dose", "med_supply_days")):
        notice["medications"] = [
            {
                "name": _text(form, "med_name"),
                "strength": _text(form, "med_strength"),
                "dose": _text(form, "med_dose"),
                "frequency": _text(form, "med_frequency"),
                "route": _text(form, "med_route"),
                "supply_days_given": _text(form, "med_supply_days"),
            }
        ]
    try:
        ReleaseNoticeV1.model_validate(notice)
    except ValidationError as invalid:
        for error in invalid.errors():
            field = _located(error["loc"])
            errors.setdefault(field, MESSAGES.get(field, error["msg"]))
    if errors:
        return None, {field: errors[field] for field in sorted(errors, key=_rank)}
    return {key: value for key, value in notice.items() if value is not None}, {}


def _rank(field: str) -> int:
    return ORDER.index(field) if field in ORDER else len(ORDER)


def errors_from_problem(problem: dict[str, Any]) -> dict[str, str]:
    """The API's own refusals (RFC 9457 ``errors`` with JSON pointers), named by form field."""
    found: dict[str, str] = {}
    for error in problem.get("errors") or []:
        pointer = str(error.get("pointer") or error.get("field") or "").lstrip("#/").replace(".", "/")
        field = _located(tuple(part for part in pointer.split("/") if part and not part.isdigit()))
        found.setdefault(field, MESSAGES.get(field, str(error.get("detail", "Check this answer"))))
    return found


# --- correcting a notice -------------------------------------------------------------------------------------

# What the correction form edits; everything else of the current notice (medicines, allergies, substance misuse,
# reporting instructions, the navigator, legal information) is carried over as it is, never dropped.
CORRECTED_KEYS = ("nhs_number", "given_name", "family_name", "date_of_birth", "registered_gp", "mental_health")


def form_values_of(notice: dict[str, Any]) -> dict[str, str]:
    """The correction form prefilled from the current notice (the inverse of :func:`notice_from_form`)."""
    values: dict[str, str] = {
        key: str(notice.get(key) or "")
        for key in ("prison_number", "nhs_number", "given_name", "family_name", "establishment_code")
    }
    for prefix, day in (("date_of_birth", notice.get("date_of_birth")), ("release_date", notice["release"]["date"])):
        if day:
            parsed = date.fromisoformat(str(day))
            values |= {
                f"{prefix}[day]": str(parsed.day),
                f"{prefix}[month]": str(parsed.month),
                f"{prefix}[year]": str(parsed.year),
            }
    values["release_type"] = str(notice["release"].get("type") or "")
    destination = notice["release"].get("destination") or {}
    values["destination"] = str(destination.get("kind") or "address")
    address = destination.get("address") or {}
    lines = list(address.get("lines") or [])
    values |= {
        "address_line_1": lines[0] if lines else "",
        "address_line_2": " ".join(lines[1:]),
        "town": str(address.get("town") or ""),
        "postcode": str(address.get("postcode") or ""),
        "last_known_local_authority": str(destination.get("last_known_local_authority") or ""),
    }
    values["registered_gp"] = str((notice.get("registered_gp") or {}).get("ods_code") or "")
    mental_health = notice.get("mental_health") or {}
    values["mh_urgency"] = str(mental_health.get("urgency") or "")
    consent = mental_health.get("consent_to_share")
    values["mh_consent"] = "yes" if consent is True else "no" if consent is False else ""
    values["mh_summary"] = str(mental_health.get("summary") or "")
    values["contact_phone"] = str((notice.get("prison_contact") or {}).get("phone") or "")
    return values


def _destination(current: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """The form's destination, keeping what the form does not show (an address's local authority, which routes
    the pack) only while the address itself is unchanged: a new address must not keep the old area."""
    if current.get("kind") != edited.get("kind") or edited.get("kind") != "address":
        return edited
    old, new = current.get("address") or {}, edited.get("address") or {}
    same = all(old.get(key) == new.get(key) for key in ("lines", "town", "postcode"))
    return {**edited, "address": {**old, **new} if same else new}


def corrected_notice(current: dict[str, Any], form: dict[str, str]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(the whole corrected notice, no errors) or (None, message per form field).

    The person and the establishment are the current notice's whatever the form says (a correction keeps them);
    the fields the form holds replace the current ones, the rest is carried over unchanged."""
    form = {
        **form,
        "prison_number": str(current["prison_number"]),
        "establishment_code": str(current["establishment_code"]),
    }
    contact = {key: value for key, value in (current.get("prison_contact") or {}).items() if key != "phone"}
    edited, errors = notice_from_form({k: v for k, v in form.items() if not k.startswith("med_")}, contact=contact)
    if edited is None:
        return None, errors
    notice = {key: value for key, value in current.items() if key not in CORRECTED_KEYS}
    notice |= {key: edited[key] for key in CORRECTED_KEYS if key in edited}
    notice["release"] = {
        **current["release"],
        **edited["release"],
        "destination": _destination(current["release"].get("destination") or {}, edited["release"]["destination"]),
    }
    notice["prison_contact"] = edited["prison_contact"]
    if "mental_health" in edited and current.get("mental_health"):
        notice["mental_health"] = {**current["mental_health"], **edited["mental_health"]}
    try:
        ReleaseNoticeV1.model_validate(notice)
    except ValidationError as invalid:
        for error in invalid.errors():
            if error["loc"][:1] == ("reporting_instructions",):
                errors.setdefault("release_date-day", "Enter a release date on or before the reporting date")
                continue
            field = _located(error["loc"])
            errors.setdefault(field, MESSAGES.get(field, error["msg"]))
        return None, {field: errors[field] for field in sorted(errors, key=_rank)}
    return notice, {}
