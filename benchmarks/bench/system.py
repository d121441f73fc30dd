"""Starts what a benchmark run measures, reusing the chaos harness's way of starting a whole system (``Stack`` with
its own data folder, directory of services and credentials, a throwaway PostgreSQL server for ``postgresql``), plus
the two helper processes: the webhook receiver and the bare FastAPI app."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ttg.broker import free_port
from ttg.chaos import directory
from ttg.chaos.postgres_cluster import PostgresCluster
from ttg.stack import SERVICES, UNLIMITED_RATE_ENV, Stack, StackConfig, provision

# The agencies a notice with consent reaches in each town the load uses (the chaos directory's).
AGENCIES = {
    "durham": frozenset({"A99001", "CMHT-DUR", "PDU-DUR"}),
    "teesside": frozenset({"A99002", "RECONNECT-TEES", "PDU-TEES"}),
}
TOWNS = tuple(AGENCIES)
ENDPOINTS = tuple(sorted(code for codes in AGENCIES.values() for code in codes))


class Helper:
    """A helper process (``python -m module PORT``) with its log in the run's folder."""

    def __init__(self, module: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, str(self.port)], stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url}: helper exited with {self.process.returncode}; see {self._log.name}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"helper on {self.url} not ready within {timeout}s")
            time.sleep(0.1)  # polling the helper's health until the deadline

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class BenchSystem:
    stack: Stack
    receiver: Helper
    bare_app: Helper
    prison_key: str
    operator_key: str
    cluster: PostgresCluster | None = None

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def stop(self) -> None:
        self.stack.stop()
        for helper in (self.receiver, self.bare_app):
            helper.stop()
        if self.cluster is not None:
            self.cluster.remove()


def start(workdir: Path, backend: str, seed: int) -> BenchSystem:
    """A fresh system in ``workdir/system`` (what an earlier run left there is removed first)."""
    data_dir = workdir / "system"
    shutil.rmtree(data_dir, ignore_errors=True)
    (data_dir / "logs").mkdir(parents=True)
    receiver = Helper("benchmarks.bench.receiver", data_dir / "logs" / "bench_receiver.log")
    bare_app = Helper("benchmarks.bench.bare_app", data_dir / "logs" / "bare_app.log")
    cluster = PostgresCluster() if backend == "postgresql" else None
    try:
        if cluster is not None:
            cluster.start()
        directory.write_directory(data_dir / "directory.yaml", f"{receiver.url}/webhooks", random.Random(seed))
        config = StackConfig(
            data_dir=data_dir,
            directory_path=data_dir / "directory.yaml",
            database_base_url=cluster.url if cluster else None,
            partitions=3,
            extra_env=dict(UNLIMITED_RATE_ENV),
            log_level="WARNING",  # a log line per request would measure the disk, not the system
        )
        stack = Stack(config)
        keys = provision(stack.credentials_path, directory.clients())
        stack.start()
        receiver.wait_ready()
        bare_app.wait_ready()
    except BaseException:
        for helper in (receiver, bare_app):
            helper.stop()
        if cluster is not None:
            cluster.remove()
        raise
    return BenchSystem(
        stack=stack,
        receiver=receiver,
        bare_app=bare_app,
        prison_key=keys[directory.PRISON.client_id],
        operator_key=keys[directory.OPERATOR.client_id],
        cluster=cluster,
    )


def service_pids(system: BenchSystem) -> dict[str, int]:
    return {name: system.stack.processes[name].pid for name in SERVICES}
