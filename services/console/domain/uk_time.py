"""Times people type and read are UK wall-clock times; the service stores instants in UTC.

A probation officer who types 10:00 for a reporting time in July means 10:00 in England (09:00 UTC): read as UTC,
the person would be told 11:00 and arrive an hour late for an appointment whose miss can mean recall. Every time a
form takes is read here, and every instant a page shows is turned back here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from services.common.dates_in_words import date_in_words

UK = ZoneInfo("Europe/London")


class NoSuchUkTime(ValueError):
    """A wall-clock time the UK skips: the night the clocks go forward, 01:00 to 01:59 never happen."""


def uk_instant(day: date, clock: time) -> datetime:
    """The instant a date and a wall-clock time mean in the UK (GMT in winter, BST in summer).

    Raises :class:`NoSuchUkTime` for a time the clocks skip (zoneinfo would quietly read 01:30 as 02:30, and a
    person would be told a time nobody typed). A time that happens twice, when the clocks go back, is its first
    (BST) occurrence."""
    moment = datetime.combine(day, clock, tzinfo=UK)
    if moment.astimezone(UTC).astimezone(UK).replace(tzinfo=None) != datetime.combine(day, clock):
        raise NoSuchUkTime(f"{clock:%H:%M} on {day.isoformat()} does not exist in the UK")
    return moment


def uk_wall_clock(moment: datetime | str) -> datetime:
    """An instant as the UK reads it; one without an offset is UTC (how the services store instants)."""
    instant = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UK)


def uk_date(day: date | str) -> str:
    """4 December 2026, as the NHS style guide writes dates."""
    return date_in_words(date.fromisoformat(day) if isinstance(day, str) else day)


def uk_date_time(moment: datetime | str) -> str:
    """4 December 2026 at 09:30, UK time."""
    local = uk_wall_clock(moment)
    return f"{uk_date(local.date())} at {local:%H:%M}"
