"""Opaque cursors for keyset paging: the key of the last item of a page, which the next page starts after.

A cursor is base64url JSON of that key; a client treats it as opaque. One that does not decode is answered
with problem details naming the ``cursor`` parameter, never a server error."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date

from services.common.problems import Problem


def encode(key: tuple[date, str, str]) -> str:
    text = json.dumps([key[0].isoformat(), key[1], key[2]], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[date, str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        day, prison_number, handover_id = json.loads(raw)
        return date.fromisoformat(day), str(prison_number), str(handover_id)
    except (ValueError, TypeError, binascii.Error):
        raise Problem(
            422,
            "Invalid request",
            "The cursor is not one this API gave out; start again without it.",
            "validation",
            errors=[{"field": "cursor", "pointer": "#/cursor", "detail": "not a cursor of this API"}],
        ) from None
