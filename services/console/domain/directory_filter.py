"""Which agencies the operator's directory page lists: a national directory runs to hundreds of agencies, and an
operator looking for one (a GP practice that says it never got a referral, the team covering DH2) searches by
code, name or area and narrows by kind rather than scrolling."""

from __future__ import annotations

from typing import Any


def matches(agency: dict[str, Any], words: str, kind: str) -> bool:
    """True when the agency is of ``kind`` (any when empty) and every search word is in its code, its name or
    one of its areas (case ignored)."""
    if kind and agency.get("kind") != kind:
        return False
    coverage = agency.get("coverage") or {}
    areas = [*coverage.get("postcode_districts", []), *coverage.get("local_authorities", [])]
    haystack = " ".join([agency.get("code", ""), agency.get("name", ""), *areas]).casefold()
    return all(word in haystack for word in words.casefold().split())


def matching(agencies: list[dict[str, Any]], words: str, kind: str) -> list[dict[str, Any]]:
    return [agency for agency in agencies if matches(agency, words, kind)]
