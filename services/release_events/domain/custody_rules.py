"""Who may change whose prisoner: the custody register's rules, as pure functions over plain data.

The establishment that holds a person owns that person's notices and custody events. A person nobody holds
(never seen, or released) may be claimed by any establishment the caller is bound to; the first notice or
event names the holder. A transfer is reported by the sending establishment (``from_establishment_code`` =
the holder) and hands the person to the receiving one. Events are ordered by the sending system's per-person
``sequence``: an event older than one already accepted never moves the person, whoever sent it.

The caller's binding to the establishment it reports for (403) is checked before these rules; these rules
decide whether that establishment is the one that may act (409 otherwise). A refusal never names the
establishment that holds the person: the caller may have no right to know where someone is.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.custody import CustodyEventKind

Kind = CustodyEventKind  # the rules decide over the very kinds the API accepts


@dataclass(frozen=True)
class Custody:
    """A person's line in the register. ``holder`` None: not held (``sequence`` None too: never seen)."""

    holder: str | None = None
    sequence: int | None = None
    released: bool = False


UNKNOWN = Custody()


@dataclass(frozen=True)
class CustodyEvent:
    kind: Kind
    sequence: int
    establishment_code: str
    from_establishment_code: str | None = None

    @property
    def reporter(self) -> str:
        """The establishment that reports the event: the sender of a transfer, otherwise where it happened."""
        if self.kind == Kind.TRANSFER and self.from_establishment_code:
            return self.from_establishment_code
        return self.establishment_code

    @property
    def reporter_field(self) -> str:
        return "from_establishment_code" if self.kind == Kind.TRANSFER else "establishment_code"


@dataclass(frozen=True)
class Allowed:
    after: Custody

    def changes(self, before: Custody) -> bool:
        return self.after != before


@dataclass(frozen=True)
class Refused:
    """A write the register refuses: 409, a problem type and a detail that names the conflict."""

    kind: str
    detail: str
    field: str


Decision = Allowed | Refused

HELD_ELSEWHERE = "held-elsewhere"


def _held_elsewhere(field: str, what: str) -> Refused:
    return Refused(
        HELD_ELSEWHERE,
        f"This person is held by another establishment: only the establishment that holds them may {what}. "
        "If they moved here, the establishment that held them reports the transfer first.",
        field,
    )


def decide_notice(custody: Custody, establishment_code: str) -> Decision:
    """A release notice: from the holder, or from anyone (who then holds the person) when nobody does."""
    if custody.holder is not None and custody.holder != establishment_code:
        return _held_elsewhere("establishment_code", "send a release notice for them")
    return Allowed(Custody(holder=establishment_code, sequence=custody.sequence, released=False))


NOT_HELD = "not-in-custody"


def decide_amendment(custody: Custody, establishment_code: str) -> Decision:
    """A correction of a notice: only while the notice's establishment still holds the person."""
    if custody.holder is None:
        return Refused(
            NOT_HELD,
            "This person is not held by any establishment now (released, or their custody ended): "
            "a notice for a new release is a new notice, not a correction.",
            "establishment_code",
        )
    if custody.holder != establishment_code:
        return _held_elsewhere("establishment_code", "correct their release notice")
    return Allowed(custody)


def _holder_after(custody: Custody, event: CustodyEvent) -> Custody:
    """Where the person is after ``event`` applied in sequence order; an older event moves no one."""
    newer = custody.sequence is None or event.sequence > custody.sequence
    sequence = event.sequence if newer else custody.sequence
    if not newer:
        return Custody(holder=custody.holder, sequence=sequence, released=custody.released)
    if event.kind == Kind.RELEASED:
        return Custody(holder=None, sequence=sequence, released=True)
    if event.kind == Kind.TRANSFER:
        return Custody(holder=event.establishment_code, sequence=sequence)
    if custody.holder is None:  # not held: the reporting establishment takes the person
        return Custody(holder=event.establishment_code, sequence=sequence)
    return Custody(holder=custody.holder, sequence=sequence)


def decide_event(custody: Custody, event: CustodyEvent) -> Decision:
    """A custody event: from the holder (a transfer: the holder is its sender), or from anyone when nobody
    holds the person. The establishment fields must agree with the holder: a transfer names the holder as
    ``from_establishment_code``; any other kind names the holder as ``establishment_code``."""
    if custody.holder is not None and event.reporter != custody.holder:
        action = "report their transfer" if event.kind == Kind.TRANSFER else f"report a {event.kind.value} event"
        return _held_elsewhere(event.reporter_field, action)
    return Allowed(_holder_after(custody, event))


class CustodyRefused(Exception):
    """The register refuses the write; raised inside the unit of work so that nothing of it is stored."""

    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.detail)
        self.refused = refused
