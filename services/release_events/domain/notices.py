"""Rules of release notices as plain data: when two submissions are the same one, when an Idempotency-Key is
still remembered, what a correction may change, and which stage a notice has reached.

Twice the same notice publishes once: with an ``Idempotency-Key`` (scoped to the client, kept for a window)
the first answer is replayed; without one, a notice whose content is that of the person's latest notice, with
no custody event since, is a duplicate: answered with the earlier notice, nothing published again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.release_notice import ReleaseNoticeV1


class NoticeStage(StrEnum):
    """Where a notice is: stored, handed to the broker, packed by handover, or withdrawn by handover."""

    ACCEPTED = "accepted"
    PUBLISHED = "published"
    PACK_ISSUED = "pack_issued"
    WITHDRAWN = "withdrawn"


class IdempotencyConflict(Exception):
    """The Idempotency-Key (or a custody event's sequence) was used before with a different request body."""


class NoticeNotFound(Exception):
    """No such notice, or not one the caller may see (the same answer for both)."""


class NotTheSameRelease(Exception):
    """The correction names another person or establishment than the notice."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class Superseded(Exception):
    """A later notice replaced this one; it is that one that can be corrected."""


IDENTITY_FIELDS = ("prison_number", "establishment_code")


def request_hash(body: dict[str, Any]) -> str:
    """Hash of the body's canonical JSON: the same submission in other whitespace or key order matches."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def content_hash(notice: ReleaseNoticeV1) -> str:
    """Hash of the notice's content as validated: two bodies that mean the same notice match."""
    return request_hash(notice.model_dump(mode="json"))


def status_url(notice_id: str) -> str:
    return f"/v1/release-notices/{notice_id}"


def remembered(created_at: datetime, *, now: datetime, window: timedelta) -> bool:
    """An idempotency record counts within its window; an expired one is ignored (and replaced, or purged)."""
    return created_at > now - window


def changed_identity(prison_number: str, establishment_code: str, corrected: ReleaseNoticeV1) -> str | None:
    """The first field a correction may not change (person, establishment) that it does change, or None."""
    original = {"prison_number": prison_number, "establishment_code": establishment_code}
    return next((field for field in IDENTITY_FIELDS if getattr(corrected, field) != original[field]), None)


def is_duplicate(latest_hash: str | None, notice: ReleaseNoticeV1, *, custody_event_since: bool) -> bool:
    """Without an Idempotency-Key, the same content as the person's latest notice, with nothing in between."""
    return latest_hash is not None and latest_hash == content_hash(notice) and not custody_event_since


def stage_of(*, pack_state: str | None, published: bool) -> NoticeStage:
    """A pack (or its withdrawal) outranks publication, which outranks storage."""
    if pack_state is not None:
        return NoticeStage.WITHDRAWN if pack_state == "withdrawn" else NoticeStage.PACK_ISSUED
    return NoticeStage.PUBLISHED if published else NoticeStage.ACCEPTED
