"""The agency's answer form and inbox as data: which answers each kind of addressee gives, what each answer
needs, when a referral is overdue and when probation must confirm its reporting instructions again."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from services.console.domain.pack_wording import phrase
from services.console.domain.uk_time import NoSuchUkTime, uk_date, uk_instant

REASONS = [
    ("outside_area", "The address is outside our area"),
    ("not_eligible", "Not eligible for this service"),
    ("no_capacity", "No capacity"),
    ("declined", "The person declined"),
    ("other", "Another reason"),
]
APPOINTMENT_MISSING = "Enter the date and time (like 14:30) of the first appointment"
REPORTING_MISSING = "Enter the date and time (like 10:00) the person reports"
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


def annotated(item: dict[str, Any], today: date) -> dict[str, Any]:
    # The service escalates an unanswered referral 24 hours before the release day: answer by the day before.
    answer_by = date.fromisoformat(item["release_date"]) - timedelta(days=1)
    return item | {
        "answer_by": answer_by,
        "overdue": item["status"] in ("requested", "received") and today > answer_by,
        "reconfirm": needs_reconfirming(item),
        "changed": [changed_part(c.get("section", "")) for c in item["sent"].get("changes", [])],
    }


def changed_part(section: str) -> str:
    """A changed part of the pack as a person reads it: ``release.date`` is "release date", ``gp_practice``
    "GP practice" (the pack's own names, never its field paths)."""
    return phrase(section)


def _when(form: dict[str, str], prefix: str, clock: str, missing: str) -> tuple[datetime | None, str | None]:
    """The instant a date and time typed in UK wall-clock time mean, or the error to show."""
    try:
        day = date(
            int(form.get(f"{prefix}[year]", "")),
            int(form.get(f"{prefix}[month]", "")),
            int(form.get(f"{prefix}[day]", "")),
        )
        hours, minutes = (int(part) for part in form.get(clock, "").strip().split(":"))
        typed = time(hours, minutes)
    except ValueError:
        return None, missing
    try:
        return uk_instant(day, typed), None
    except NoSuchUkTime:
        return None, (
            f"There is no {typed:%H:%M} on {uk_date(day)}: the clocks go forward from 01:00 to 02:00 that night. "
            "Enter a time before 01:00 or from 02:00"
        )


def answer_from_form(form: dict[str, str], probation: bool) -> tuple[dict[str, Any] | None, dict[str, str]]:
    answer = form.get("answer", "")
    allowed = ("received", "confirmed") if probation else ("received", "accepted", "rejected", "completed")
    if answer not in allowed:
        return None, {"answer": "Select your answer"}
    body: dict[str, Any] = {"answer": answer}
    errors: dict[str, str] = {}
    if answer == "accepted":
        at, error = _when(
            form, "appt_date", "appt_time", "Enter the date and time (like 14:30) of the first appointment"
        )
        if error:
            errors["appt_date-day"] = error
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
        at, error = _when(form, "report_date", "report_time", REPORTING_MISSING)
        if not form.get("office", "").strip():
            errors["office"] = "Enter the probation office"
        if error:
            errors["report_date-day"] = error
        if at is not None:
            body["reporting_instructions"] = {
                "office": form.get("office", "").strip()[:200],
                "report_at": at.isoformat(),
                "practitioner": form.get("practitioner", "").strip() or None,
            }
    return (None, errors) if errors else (body, {})
