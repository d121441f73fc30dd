"""One chaos run end to end: a fresh system (its own data folder, databases, broker, receiver), the load with
the plan's faults, the drain, the invariants. ``run_session`` runs every plan of a profile."""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ttg.chaos import directory
from ttg.chaos.faults import FaultInjector
from ttg.chaos.invariants import Verdict, check
from ttg.chaos.observe import Databases, observe, scan_logs
from ttg.chaos.plan import Profile, RunPlan, build_plans, describe
from ttg.chaos.postgres_cluster import PostgresCluster
from ttg.chaos.receiver import VerifyingReceiver
from ttg.chaos.workload import Load, Workload
from ttg.stack import QUIET_FETCH_ENV, SERVICES, UNLIMITED_RATE_ENV, Stack, StackConfig, provision, replica_names

# A killed notifier's claimed deliveries wait for their lease to run out (by design: no process vouches for a
# dead one). Production's 120 s would only lengthen each run's drain; 30 s still exceeds an attempt's 20 s limit.
LEASE_SECONDS = 30.0
CHAOS_ENV = {**UNLIMITED_RATE_ENV, **QUIET_FETCH_ENV, "TTG_NOTIFIER_LEASE_SECONDS": str(LEASE_SECONDS)}


@dataclass
class RunResult:
    index: int
    seed: int
    seconds: float
    verdict: Verdict
    kills: dict[str, int] = field(default_factory=dict)
    broker_restarts: int = 0
    database_restarts: int = 0
    replicas: int = 1

    @property
    def clean(self) -> bool:
        return self.verdict.clean


# Violations the load itself recorded (a call refused or given up on): final, so the drain does not wait on them.
FINAL = frozenset({"caller could not complete"})


def settled(verdict: Verdict) -> bool:
    """Nothing left that waiting could still put right (a clean verdict, or only the load's own final problems)."""
    return all(invariant in FINAL for invariant, _ in verdict.violations)


def drain(db: Databases, load: Load, receiver: VerifyingReceiver, timeout: float) -> Verdict:
    """Check until everything else holds (or only the load's own final problems remain) or ``timeout`` passes
    (the audit chains are walked once, after: see ``observe``); the last verdict stands (work still in flight at
    the deadline is reported as lost)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            verdict = check(observe(db, load, receiver.snapshot(), receiver.unverified, audit_chains=False))
        except Exception as error:  # noqa: BLE001 - a database not answering yet, after its restart
            verdict = Verdict(violations=[("could not observe", f"{type(error).__name__}")])
        if settled(verdict) or time.monotonic() > deadline:
            return verdict
        time.sleep(1.0)  # polling the system's progress until the deadline


def run_once(plan: RunPlan, profile: Profile, workdir: Path) -> RunResult:
    started = time.monotonic()
    rng = random.Random(plan.seed)
    data_dir = workdir / f"run-{plan.index + 1}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    receiver = VerifyingReceiver().start()
    cluster = PostgresCluster() if profile.backend == "postgresql" else None
    stack: Stack | None = None
    result: RunResult | None = None
    try:
        if cluster is not None:
            cluster.start()
        receiver.secrets = directory.write_directory(data_dir / "directory.yaml", receiver.base_url, rng)
        config = StackConfig(
            data_dir=data_dir,
            directory_path=data_dir / "directory.yaml",
            database_base_url=cluster.url if cluster else None,
            partitions=3,
            extra_env=CHAOS_ENV,
            replicas=dict.fromkeys(SERVICES, profile.replicas),
        )
        stack = Stack(config)
        keys = provision(stack.credentials_path, directory.clients())
        stack.start()
        running = stack
        workload = Workload(
            rng=rng,
            urls=lambda service: [running.url(n) for n in replica_names(service, profile.replicas)],
            keys=keys,
            arrivals=receiver.snapshot,
            notices=profile.notices,
        )
        injector = FaultInjector(stack, cluster, plan.faults, lambda: workload.progress).start()
        try:
            load = workload.run()
        except BaseException:
            injector.abandon()
            raise
        injector.finish()
        db = Databases({service: stack.database_url(service) for service in SERVICES})
        try:
            verdict = drain(db, load, receiver, timeout=LEASE_SECONDS + 60 + profile.notices * 0.5)
            if not any(invariant == "could not observe" for invariant, _ in verdict.violations):
                # the logs last: a leak is looked for in everything the run wrote
                seen = observe(db, load, receiver.snapshot(), receiver.unverified)
                seen.log_leaks = scan_logs([stack.log_path(n) for n in stack.processes], load)
                verdict = check(seen)
        finally:
            db.dispose()
        verdict.fail("fault not injected", injector.errors)
        result = RunResult(
            index=plan.index,
            seed=plan.seed,
            seconds=round(time.monotonic() - started, 1),
            verdict=verdict,
            kills=dict(injector.kills),
            broker_restarts=injector.broker_restarts,
            database_restarts=injector.database_restarts,
            replicas=profile.replicas,
        )
        return result
    finally:
        if stack is not None:
            stack.stop()
        receiver.stop()
        if cluster is not None:
            if result is None or not result.clean:  # keep what the databases held, to find out why
                cluster.dump_databases(data_dir / "postgres-dumps")
            cluster.remove()


def run_session(
    seed: int, profile: Profile, workdir: Path, *, echo: Callable[[str], object] = print
) -> list[RunResult]:
    """Every run of the profile, one after another; each run's line is echoed as it ends."""
    results = []
    for plan in build_plans(seed, profile):
        echo(describe(plan))
        result = run_once(plan, profile, workdir)
        echo(f"  {'OK' if result.clean else 'VIOLATIONS'} in {result.seconds}s: {result.verdict.counts}")
        results.append(result)
    return results
