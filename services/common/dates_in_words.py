"""Dates as people read them: "4 December 2026", as the NHS style guide writes dates. One rule for every text a
person reads, whether a page renders it (the console) or a service writes it into a pack (handover's alerts)."""

from __future__ import annotations

from datetime import date


def date_in_words(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
