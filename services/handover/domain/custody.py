"""What a custody event does to a person's case, decided in the person's sequence order whatever the arrival
order. Pure.

The prison's system numbers every event of a person; prisons send late and out of order, so an event is
placed where its sequence puts it among the events already applied to the case:

- in order (above every applied one): it takes effect on the case as it stands;
- late, and a later applied event already decided the same thing (the release date, or where the person is):
  ``superseded`` (the later event stands, as it would had they arrived in order);
- late, and nothing later decided the same thing: it takes effect (the case ends as in sequence order);
- a late cancellation or recall ends the case; the later events it overrides are re-classified;
- no open case: a date change, transfer or reception is ``held`` and applied, in sequence order, when the
  person's next notice opens a case (an event that arrived before its notice); a date change after a
  cancellation is ``needs_new_notice`` (a cancelled release is not reinstated by a date: the prison is told);
  an event older than the one that ended the last case is ``superseded``;
- a sequence already in the log is a ``duplicate``.
Nothing is discarded silently: every event gets an outcome and the reason in the custody-event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from contracts.custody import CustodyEventKind, CustodyEventV1, ReleasedReason


class CustodyOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    HELD = "held"
    SUPERSEDED = "superseded"
    NEEDS_NEW_NOTICE = "needs_new_notice"
    STALE = "stale"  # rows written before events were re-decided in sequence order; never written now


class Action(StrEnum):
    NONE = "none"
    AMEND_RELEASE_DATE = "amend_release_date"
    MOVE_ESTABLISHMENT = "move_establishment"
    WITHDRAW = "withdraw"
    CLOSE_RECALLED = "close_recalled"
    MARK_RELEASED = "mark_released"
    ASK_FOR_NEW_NOTICE = "ask_for_new_notice"


class Decides(StrEnum):
    """What about a case an event kind decides: a later event deciding the same thing overrides it."""

    RELEASE_DATE = "the release date"
    WHERE = "where the person is"
    END = "the end of the case"


@dataclass(frozen=True)
class OpenHandover:
    release_date: date
    establishment_code: str


@dataclass(frozen=True)
class Applied:
    """An event already applied to the open case."""

    sequence: int
    decides: Decides | None


@dataclass(frozen=True)
class Ended:
    """How the person's latest case ended, when none is open."""

    state: str
    sequence: int | None = None  # the custody event that ended it, if one did
    cancelled: bool = False


@dataclass(frozen=True)
class History:
    """What the log says about the person: every sequence already recorded, the open case and what was applied
    to it, or how the last case ended."""

    seen: frozenset[int] = frozenset()
    handover: OpenHandover | None = None
    applied: tuple[Applied, ...] = ()
    ended: Ended | None = None
    earlier_case_until: int | None = None  # the highest sequence logged against an earlier case of the person


@dataclass(frozen=True)
class Decision:
    outcome: CustodyOutcome
    action: Action
    detail: str
    overrides: tuple[int, ...] = ()  # later events of the case that a late cancellation or recall overrides


HOLDABLE = frozenset({CustodyEventKind.RELEASE_DATE_CHANGED, CustodyEventKind.TRANSFER, CustodyEventKind.RECEPTION})


def decides(event: CustodyEventV1) -> Decides | None:
    kind = event.kind
    if kind == CustodyEventKind.RELEASE_DATE_CHANGED:
        return Decides.RELEASE_DATE
    if kind in (CustodyEventKind.TRANSFER, CustodyEventKind.RECEPTION):
        return Decides.WHERE
    if kind == CustodyEventKind.RELEASED and event.reason == ReleasedReason.TEMPORARY_ABSENCE:
        return None
    return Decides.END


def decide(event: CustodyEventV1, history: History) -> Decision:
    sequence = event.sequence
    if sequence in history.seen:
        return Decision(CustodyOutcome.DUPLICATE, Action.NONE, f"sequence {sequence} is already in the log")
    if history.handover is None:
        return _without_open_case(event, history.ended)
    if history.earlier_case_until is not None and sequence < history.earlier_case_until:
        return Decision(
            CustodyOutcome.SUPERSEDED,
            Action.NONE,
            f"older than sequence {history.earlier_case_until} of an earlier case of the person: recorded, the "
            "open case is unchanged",
        )
    later = sorted(a.sequence for a in history.applied if a.sequence > sequence)
    if not later:
        return Decision(CustodyOutcome.APPLIED, *_effect(event, history.handover))
    arrived = f"arrived after sequence {later[-1]}, placed before {later[0]}: "
    what = decides(event)
    if what == Decides.END and event.kind != CustodyEventKind.RELEASED:
        action, detail = _effect(event, history.handover)
        return Decision(
            CustodyOutcome.APPLIED,
            action,
            arrived + detail + f"; it overrides the later sequence(s) {later}",
            overrides=tuple(later),
        )
    deciders = [a.sequence for a in history.applied if a.sequence > sequence and a.decides == what]
    if what is not None and deciders:
        return Decision(
            CustodyOutcome.SUPERSEDED,
            Action.NONE,
            arrived + f"sequence {deciders[-1]} decided {what.value} since: recorded, the case is unchanged",
        )
    action, detail = _effect(event, history.handover)
    because = f"nothing later decided {what.value}: " if what else ""
    return Decision(CustodyOutcome.APPLIED, action, arrived + because + detail)


def _without_open_case(event: CustodyEventV1, ended: Ended | None) -> Decision:
    if ended is not None and ended.sequence is not None and event.sequence < ended.sequence:
        return Decision(
            CustodyOutcome.SUPERSEDED,
            Action.NONE,
            f"older than sequence {ended.sequence}, which {ended.state} the case: recorded, the case is unchanged",
        )
    if ended is not None and ended.cancelled and event.kind == CustodyEventKind.RELEASE_DATE_CHANGED:
        assert event.release_date is not None
        return Decision(
            CustodyOutcome.NEEDS_NEW_NOTICE,
            Action.ASK_FOR_NEW_NOTICE,
            f"release date changed to {event.release_date.isoformat()} after the release was cancelled: a "
            "cancelled release is not reinstated by a date change; prison healthcare is asked for a new notice",
        )
    if event.kind in HOLDABLE:
        return Decision(
            CustodyOutcome.HELD,
            Action.NONE,
            "no open handover: held, and applied in sequence order when the person's next notice arrives",
        )
    return Decision(CustodyOutcome.APPLIED, Action.NONE, "no open handover for the person: recorded only")


def reclassified(kind: CustodyEventKind, ended_by: int, state: str) -> tuple[CustodyOutcome, str]:
    """What became of an applied event that a late cancellation or recall (``ended_by``) overrides."""
    if kind == CustodyEventKind.RELEASE_DATE_CHANGED and state == "withdrawn":
        return CustodyOutcome.NEEDS_NEW_NOTICE, (
            f"applied on arrival; sequence {ended_by} (a cancellation) arrived late and comes before it: "
            "a cancelled release is not reinstated by a date change; prison healthcare is asked for a new notice"
        )
    return CustodyOutcome.SUPERSEDED, (
        f"applied on arrival; sequence {ended_by} arrived late, comes before it and {state} the case"
    )


def _effect(event: CustodyEventV1, handover: OpenHandover) -> tuple[Action, str]:
    kind = event.kind
    if kind == CustodyEventKind.RELEASE_DATE_CHANGED:
        assert event.release_date is not None
        if event.release_date == handover.release_date:
            return Action.NONE, "the release date is unchanged"
        return Action.AMEND_RELEASE_DATE, (
            f"release date changed from {handover.release_date.isoformat()} to {event.release_date.isoformat()}"
        )
    if kind == CustodyEventKind.RELEASE_CANCELLED:
        return Action.WITHDRAW, "release cancelled" + (f": {event.detail}" if event.detail else "")
    if kind == CustodyEventKind.RECALLED:
        return Action.CLOSE_RECALLED, "recalled to custody: the case is closed; a new notice opens a new one"
    if kind in (CustodyEventKind.TRANSFER, CustodyEventKind.RECEPTION):
        if event.establishment_code == handover.establishment_code and event.prison_contact is None:
            return Action.NONE, f"already at {event.establishment_code}"
        return Action.MOVE_ESTABLISHMENT, (f"now at {event.establishment_code} (was {handover.establishment_code})")
    if kind == CustodyEventKind.RELEASED:
        if event.reason == ReleasedReason.TEMPORARY_ABSENCE:
            return Action.NONE, "temporary absence: the release plan stands"
        return Action.MARK_RELEASED, f"released ({event.reason})"
    raise ValueError(f"unknown custody event kind {kind}")  # pragma: no cover - the contract limits kinds
