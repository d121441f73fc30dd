"""The medication supply-gap rule: supply must last until a community prescriber takes over.

A prescriber takes over at the first community appointment, and not before GP registration can complete.
Supply given on release covers the release day and the days after it: it runs out ``supply_days_given``
days after release. A gap is flagged when it runs out before the date a prescriber is known to take over.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from contracts.handover import SafetyAlert
from contracts.release_notice import Medication
from services.common.dates_in_words import date_in_words


def prescriber_takes_over(
    *,
    release_date: date,
    registration_needed: bool,
    registration_days: int,
    first_appointments: Iterable[date] = (),
) -> date:
    """The earliest date a community prescriber can be relied on: the later of GP registration completing
    (release day when already registered) and the first community appointment, when one is known."""
    registered_by = release_date + timedelta(days=registration_days if registration_needed else 0)
    appointments = [day for day in first_appointments if day >= release_date]
    first = min(appointments) if appointments else None
    return max(registered_by, first) if first else registered_by


def runs_out(medication: Medication, release_date: date) -> date:
    return release_date + timedelta(days=medication.supply_days_given)


def supply_gaps(medications: Iterable[Medication], *, release_date: date, needed_until: date) -> list[SafetyAlert]:
    """One alert per item whose supply runs out before ``needed_until``; depots are due by date instead."""
    alerts = []
    for item in medications:
        if item.depot:
            if item.next_injection_due is not None and item.next_injection_due < needed_until:
                alerts.append(
                    SafetyAlert(
                        code="medication_supply_gap",
                        section="medications",
                        detail=f"{item.name}: depot injection due {date_in_words(item.next_injection_due)}, "
                        f"before a community prescriber takes over on {date_in_words(needed_until)}",
                    )
                )
            continue
        ends = runs_out(item, release_date)
        if ends < needed_until:
            alerts.append(
                SafetyAlert(
                    code="medication_supply_gap",
                    section="medications",
                    detail=f"{item.name} {item.strength}: {_days(item.supply_days_given)} supplied, runs out "
                    f"{date_in_words(ends)}, before a community prescriber takes over on "
                    f"{date_in_words(needed_until)}",
                )
            )
    return alerts


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
