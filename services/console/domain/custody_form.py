"""The custody event form as data: from the form's fields to a custody event, validated with the API's own
contract model, every problem named by the field that holds it."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from contracts.custody import CustodyEventV1

KINDS = [
    ("release_date_changed", "The release date has changed"),
    ("release_cancelled", "The release is cancelled"),
    ("released", "The person has been released"),
    ("transfer", "The person has moved to another prison"),
]
MESSAGES = {
    "kind": "Select what has happened",
    "release_date-day": "Enter the new release date",
    "to_establishment": "Enter the three-letter code of the prison the person moved to",
    "detail": "Say why, in 2000 characters or fewer",
}
FIELDS = {
    "kind": "kind",
    "release_date": "release_date-day",
    "establishment_code": "to_establishment",
    "from_establishment_code": "to_establishment",
    "detail": "detail",
}


def event_from_form(
    form: dict[str, str],
    *,
    handover: dict[str, Any],
    sequence: int,
    now: Any,
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    pack = handover["pack"]
    kind = form.get("kind", "")
    here = pack["release"]["establishment_code"]
    event: dict[str, Any] = {
        "prison_number": pack["patient_demographics"]["prison_number"],
        "sequence": sequence,
        "kind": kind,
        "establishment_code": here,
        "occurred_at": now.isoformat(),
        "detail": form.get("detail", "").strip() or None,
    }
    errors: dict[str, str] = {}
    if kind == "release_date_changed":
        try:
            event["release_date"] = date(
                int(form.get("release_date[year]", "")),
                int(form.get("release_date[month]", "")),
                int(form.get("release_date[day]", "")),
            ).isoformat()
        except ValueError:
            errors["release_date-day"] = MESSAGES["release_date-day"]
    if kind == "released":
        event["reason"] = "released"
    if kind == "transfer":
        moved_to = form.get("to_establishment", "").strip().upper()
        event |= {"establishment_code": moved_to, "from_establishment_code": here}
    try:
        CustodyEventV1.model_validate(event)
    except ValidationError as invalid:
        for error in invalid.errors():
            if not error["loc"] and errors:
                continue  # a rule about the whole event, already named by the field that broke it
            field = FIELDS.get(str(error["loc"][0]) if error["loc"] else "kind", "kind")
            errors.setdefault(field, MESSAGES[field])
    return (None, errors) if errors else (event, {})
