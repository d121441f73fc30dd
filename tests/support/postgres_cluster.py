"""A throwaway PostgreSQL server for tests that crash and restart the database: the machine's shared server
serves other tests at the same time, so a test that takes the database away starts its own.

``initdb`` in a fresh folder, ``pg_ctl start`` on a free port (Unix socket in that folder, TCP on 127.0.0.1
only, fsync off: its data is thrown away), ``crash()`` is ``pg_ctl stop -m immediate`` (no shutdown
checkpoint: the next start runs crash recovery, as after a power cut), ``start()`` again on the same port.
PostgreSQL refuses to run as root, so when the tests run as root every command runs as ``postgres``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ttg.broker import free_port

BIN = Path(os.environ.get("TTG_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"


def available() -> str | None:
    """None when a throwaway cluster can be made here, otherwise why not."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL server binaries in {BIN} (set TTG_TEST_POSTGRES_BIN)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop to the postgres user"
    return None


class PostgresCluster:
    """One PostgreSQL server in its own folder; ``url`` reaches its ``postgres`` database as ``postgres``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ttg-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        argv = [str(BIN / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr}\n{log}")

    def create(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.root, user=SERVER_USER)
        self._run("initdb", "-D", str(self.data), "-U", SERVER_USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        return self.start()

    def start(self) -> PostgresCluster:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.running = True
        return self

    def crash(self) -> None:
        """Stop at once, as a crash: connections are cut and nothing is checkpointed."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False

    def destroy(self) -> None:
        if self.running:
            self.crash()
        shutil.rmtree(self.root, ignore_errors=True)
