"""Carries out a run's fault plan while the load runs: at each fault's moment of progress, SIGKILL a process
and start it again, restart the broker (an empty one on the same port), or crash and restart PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from ttg.chaos.plan import Fault
from ttg.chaos.postgres_cluster import PostgresCluster
from ttg.stack import Stack


class FaultInjector:
    def __init__(
        self, stack: Stack, cluster: PostgresCluster | None, faults: tuple[Fault, ...], progress: Callable[[], int]
    ) -> None:
        self.stack, self.cluster, self.faults, self.progress = stack, cluster, faults, progress
        self.kills: Counter[str] = Counter()
        self.broker_restarts = 0
        self.database_restarts = 0
        self.errors: list[str] = []
        self._done = threading.Event()
        self._abandoned = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)

    def start(self) -> FaultInjector:
        self._thread.start()
        return self

    def finish(self, timeout: float = 300.0) -> None:
        """The load is over: carry out the faults not reached yet (a fault is never skipped), then return."""
        self._done.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.errors.append("the fault injector did not finish")

    def abandon(self) -> None:
        """The run was interrupted: inject nothing more (a fault being injected finishes), so the system can stop."""
        self._abandoned.set()
        self._done.set()

    def _run(self) -> None:
        for fault in self.faults:
            while self.progress() < fault.at_step and not self._done.is_set():
                time.sleep(0.05)  # watching the load's progress for the fault's moment
            if self._abandoned.is_set():
                return
            try:
                self._inject(fault)
            except Exception as error:  # noqa: BLE001 - reported as a violation of the run, not raised in a thread
                self.errors.append(f"{fault.kind} {fault.target}: {type(error).__name__}: {error}"[:300])

    def _inject(self, fault: Fault) -> None:
        if fault.kind == "kill":
            self.stack.stop_service(fault.target, kill=True)
            self.kills[fault.target] += 1
            time.sleep(fault.down_seconds)  # the process stays dead this long before it is started again
            self.stack.start_service(fault.target)
            self.stack.wait_healthy(fault.target, timeout=120)
        elif fault.kind == "broker":
            self.stack.broker.restart()
            self.broker_restarts += 1
        elif fault.kind == "postgres":
            if self.cluster is None:
                raise RuntimeError("a database restart was planned on SQLite")
            self.cluster.crash_restart(down_seconds=1.0)
            self.database_restarts += 1
