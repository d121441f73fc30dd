"""What the departure lounge and a person's page show, as pure rules over the services' answers: which
releases a search matches and in what order (at risk first), which window of dates, and one release's timeline."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from services.console.domain.uk_time import uk_date_time

WINDOWS = (7, 14, 28)
RECENT_DAYS = 14
READINESS_ORDER = {"at_risk": 0, "pending": 1}  # then everything ready
# A readiness state as a person reads it, and the colour of its tag (NHS.UK tag modifiers).
READINESS_LABELS = {"done": ("Done", "green"), "pending": ("Pending", "grey"), "at_risk": ("At risk", "red")}


class LoungeView(StrEnum):
    UPCOMING = "upcoming"
    RELEASED = "released"


def view_of(value: str) -> LoungeView:
    return LoungeView(value) if value in set(LoungeView) else LoungeView.UPCOMING


def window(days: int) -> int:
    return days if days in WINDOWS else 14


def matches(release: dict[str, Any], q: str) -> bool:
    wanted = q.strip().lower()
    name = f"{release['given_name']} {release['family_name']}".lower()
    return not wanted or wanted in name or wanted == release["prison_number"].lower()


def release_query(view: LoungeView, *, today: date, days: int, q: str) -> dict[str, str]:
    """Upcoming: releases due within ``days``. Released already, by release date: the last 14 days, and later
    dates for anyone let go early. The service may search too (newer handover); results are filtered here anyway."""
    params = {"from": today.isoformat(), "to": (today + timedelta(days=days)).isoformat()}
    if view == LoungeView.RELEASED:
        params = {
            "state": "released",
            "from": (today - timedelta(days=RECENT_DAYS)).isoformat(),
            "to": (today + timedelta(days=max(WINDOWS))).isoformat(),
        }
    if q.strip():
        params["q"] = q.strip()
    return params


def in_lounge_order(releases: list[dict[str, Any]], view: LoungeView) -> list[dict[str, Any]]:
    """Upcoming: at risk first, then pending, then by date and name. Released: most recent first."""
    if view == LoungeView.RELEASED:
        return sorted(releases, key=lambda r: (r["release_date"], r["family_name"]), reverse=True)
    return sorted(
        releases, key=lambda r: (READINESS_ORDER.get(r["readiness"]["status"], 2), r["release_date"], r["family_name"])
    )


def timeline(
    handover: dict[str, Any], deliveries: list[dict[str, Any]], custody: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """What happened to this release, newest first: versions, each agency's delivery and answer, custody events."""
    entries = [{"at": handover["issued_at"], "what": f"Handover pack version {handover['version']} issued"}]
    for delivery in deliveries:
        entries.append(
            {
                "at": delivery.get("finished_at") or delivery["created_at"],
                "what": f"Sent to {delivery['agency_code']}: {delivery['status'].replace('_', ' ')}",
            }
        )
    for referral in handover["referrals"]:
        if referral["status"] != "requested":
            detail = referral.get("reason_text") or ""
            if referral.get("first_appointment_at"):
                detail = f"first appointment {uk_date_time(referral['first_appointment_at'])}"
            what = f"{referral['agency_code']} {referral['status']}" + (f": {detail}" if detail else "")
            entries.append({"at": referral["updated_at"], "what": what})
    for event in custody:
        entries.append(
            {
                "at": event["recorded_at"],
                "what": f"Custody event: {event['kind'].replace('_', ' ')} ({event['outcome']})",
            }
        )
    return sorted(entries, key=lambda e: e["at"], reverse=True)
