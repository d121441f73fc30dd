"""Re-sending an agency's failed deliveries, as pure rules: which ids a progress address may carry, and how far
the re-sent deliveries have got (as the notifier says now: the page keeps no state of its own)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SHOWN = 100  # webhook ids carried in one address; more are re-sent all the same, the page follows the first ones
SETTLED_BAD = ("failed", "dead_lettered")


def followable(agency_code: str, webhook_ids: list[str]) -> bool:
    """An agency code and 1 to ``SHOWN`` webhook ids, each a plain id."""
    if not ID.match(agency_code) or not webhook_ids or len(webhook_ids) > SHOWN:
        return False
    return all(ID.match(webhook_id) for webhook_id in webhook_ids)


def progress_query(agency_code: str, total: int, webhook_ids: list[str]) -> str:
    return urlencode({"agency_code": agency_code, "total": total, "webhook_id": webhook_ids[:SHOWN]}, doseq=True)


def progress_of(
    agency_code: str, webhook_ids: list[str], deliveries: list[dict[str, Any]], total: int
) -> dict[str, Any]:
    """N of M delivered, the ones failing again, and the address that shows this again."""
    return {
        "agency_code": agency_code,
        "deliveries": deliveries,
        "total": max(total, len(webhook_ids)),
        "delivered": sum(1 for delivery in deliveries if delivery["status"] == "delivered"),
        "failing": [delivery for delivery in deliveries if delivery["status"] in (*SETTLED_BAD, "not_found")],
        "query": progress_query(agency_code, total, webhook_ids),
    }
