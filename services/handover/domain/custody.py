"""What a custody event does to a person's handover (issue 4 item 4). Pure.

A person's events are applied in their per-person sequence, once: an event whose sequence is not above the
last applied one is recorded and ignored, with the reason (a repeat, or one that arrived after a later one).
Gaps are allowed: the sending system numbers every event of the person, and not all of them concern us.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from contracts.custody import CustodyEventKind, CustodyEventV1, ReleasedReason


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


class Action(StrEnum):
    NONE = "none"
    AMEND_RELEASE_DATE = "amend_release_date"
    MOVE_ESTABLISHMENT = "move_establishment"
    WITHDRAW = "withdraw"
    CLOSE_RECALLED = "close_recalled"
    MARK_RELEASED = "mark_released"


@dataclass(frozen=True)
class OpenHandover:
    release_date: date
    establishment_code: str


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    action: Action
    detail: str


def decide(event: CustodyEventV1, *, last_sequence: int | None, handover: OpenHandover | None) -> Decision:
    if last_sequence is not None and event.sequence == last_sequence:
        return Decision(Outcome.DUPLICATE, Action.NONE, f"sequence {event.sequence} was already applied")
    if last_sequence is not None and event.sequence < last_sequence:
        return Decision(
            Outcome.STALE,
            Action.NONE,
            f"sequence {event.sequence} is older than the last applied ({last_sequence}): "
            "recorded, not applied",
        )
    return Decision(Outcome.APPLIED, *_effect(event, handover))


def _effect(event: CustodyEventV1, handover: OpenHandover | None) -> tuple[Action, str]:
    if handover is None:
        return Action.NONE, "no open handover for the person: recorded only"
    kind = event.kind
    if kind == CustodyEventKind.RELEASE_DATE_CHANGED:
        assert event.release_date is not None
        if event.release_date == handover.release_date:
            return Action.NONE, "the release date is unchanged"
        return Action.AMEND_RELEASE_DATE, (
            f"release date changed from {handover.release_date.isoformat()} "
            f"to {event.release_date.isoformat()}"
        )
    if kind == CustodyEventKind.RELEASE_CANCELLED:
        return Action.WITHDRAW, "release cancelled" + (f": {event.detail}" if event.detail else "")
    if kind == CustodyEventKind.RECALLED:
        return Action.CLOSE_RECALLED, "recalled to custody: the case is closed; a new notice opens a new one"
    if kind in (CustodyEventKind.TRANSFER, CustodyEventKind.RECEPTION):
        if event.establishment_code == handover.establishment_code and event.prison_contact is None:
            return Action.NONE, f"already at {event.establishment_code}"
        return Action.MOVE_ESTABLISHMENT, (
            f"now at {event.establishment_code} (was {handover.establishment_code})"
        )
    if kind == CustodyEventKind.RELEASED:
        if event.reason == ReleasedReason.TEMPORARY_ABSENCE:
            return Action.NONE, "temporary absence: the release plan stands"
        return Action.MARK_RELEASED, f"released ({event.reason})"
    raise ValueError(f"unknown custody event kind {kind}")  # pragma: no cover - the contract limits kinds
