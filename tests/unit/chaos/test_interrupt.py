"""An interrupted chaos session (Ctrl-C, SIGTERM) stops its load at once: no new call starts after the
interruption, so the run can stop its system instead of waiting for thousands of notices to be sent."""

from __future__ import annotations

import random
import threading

import httpx
import pytest

from ttg.chaos.calls import GaveUp, call
from ttg.chaos.workload import Person, Workload

SEED = 20261202


def test_an_interrupted_load_starts_no_new_call(monkeypatch: pytest.MonkeyPatch) -> None:
    print(f"seed {SEED}")
    workload = Workload(
        rng=random.Random(SEED), urls=lambda service: [], keys={}, arrivals=list, notices=200, workers=2
    )
    calls: list[str] = []
    release = threading.Event()
    lock = threading.Lock()

    def submit(person: Person) -> None:
        with lock:
            calls.append(person.idempotency_key)
            first = len(calls) == 1
        if first:
            raise KeyboardInterrupt
        release.wait(timeout=30)  # a call in flight, held until the test has seen the interruption

    monkeypatch.setattr(workload, "_submit", submit)
    with pytest.raises(KeyboardInterrupt):
        workload.run()
    in_flight = len(calls)
    release.set()
    for thread in threading.enumerate():
        if thread.name.startswith("chaos-load"):
            thread.join(timeout=30)
    assert not any(thread.name.startswith("chaos-load") for thread in threading.enumerate())
    assert in_flight <= 3  # the interrupted call and at most one more per worker, already started
    assert len(calls) == in_flight  # and none started after the interruption


def test_a_call_retrying_a_dead_service_gives_up_once_the_session_is_interrupted() -> None:
    stopped = threading.Event()
    stopped.set()
    with httpx.Client(timeout=1.0) as client, pytest.raises(GaveUp, match="interrupted"):
        # nothing listens on port 9 of loopback: without the interruption this would retry for 120 s
        call(client, "POST", ["http://127.0.0.1:9"], "/v1/release-notices", json={}, stopped=stopped)
