"""The drain waits for what the system can still put right, and no longer: a problem the load itself recorded
(a notice refused, a call given up on) is final, so a run reports it at once instead of at the drain's deadline."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ttg.chaos import runner
from ttg.chaos.invariants import Verdict
from ttg.chaos.workload import Load


class StubReceiver:
    unverified = 0

    def snapshot(self) -> list[Any]:
        return []


def drained(monkeypatch: pytest.MonkeyPatch, verdicts: list[Verdict], timeout: float) -> tuple[Verdict, int]:
    seen = iter(verdicts)
    polls = 0

    def next_verdict(observed: object) -> Verdict:
        nonlocal polls
        polls += 1
        return next(seen)

    monkeypatch.setattr(runner, "observe", lambda *args, **kwargs: None)
    monkeypatch.setattr(runner, "check", next_verdict)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # the drain polls each second: not here
    verdict = runner.drain(db=None, load=Load(), receiver=StubReceiver(), timeout=timeout)  # type: ignore[arg-type]
    return verdict, polls


def test_only_the_loads_own_problems_left_ends_the_drain_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    final = Verdict(violations=[("caller could not complete", "notice: HTTP 409 held-elsewhere")])
    verdict, polls = drained(monkeypatch, [final], timeout=3600)
    assert polls == 1
    assert verdict.violations == final.violations


def test_work_still_in_flight_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    in_flight = Verdict(violations=[("lost", "webhook msg_1"), ("caller could not complete", "answer: gave up")])
    done = Verdict(violations=[("caller could not complete", "answer: gave up")])
    verdict, polls = drained(monkeypatch, [in_flight, in_flight, done], timeout=3600)
    assert polls == 3
    assert not runner.settled(in_flight)
    assert verdict is done
