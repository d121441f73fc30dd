"""A throwaway PostgreSQL server for chaos runs and for the tests that crash the database, so that they crash
and restart *their* database server without touching the machine's shared one (other tests use it concurrently).

``initdb`` into a temporary folder, ``pg_ctl start`` on a free port (socket in the same folder, loopback only,
fsync off: the data is thrown away), ``crash_restart`` stops it with ``-m immediate`` (no checkpoint, as after a
power cut) and starts it again on the same port. Run as root, the server commands run as user ``postgres``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common.db import sync_url
from ttg.broker import free_port

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"), Path("/usr/lib/postgresql/17/bin"))


def server_binary(name: str) -> str:
    for folder in (Path(os.environ["TTG_PG_BIN"]),) if os.environ.get("TTG_PG_BIN") else BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: set TTG_PG_BIN to PostgreSQL's bin folder")
    return found


def unavailable() -> str | None:
    """None when a throwaway server can be made here, otherwise why not."""
    try:
        server_binary("initdb")
    except FileNotFoundError as missing:
        return str(missing)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop to the postgres user"
    return None


class PostgresCluster:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ttg-chaos-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def engine(self, database: str = "postgres", **options: Any) -> sa.Engine:
        """A connection-per-use engine on one of the server's databases (nothing pooled across a crash)."""
        return sa.create_engine(sync_url(self.url).set(database=database), poolclass=sa.pool.NullPool, **options)

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*as_postgres, *command], capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(command[0]).name} failed ({result.returncode}): {result.stderr}\n{tail}")

    def start(self, timeout: float = 60.0) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not self.data.exists():
            self._run(server_binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        options = f"-k {self.folder} -c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off -c max_connections=200"
        log = str(self.folder / "server.log")
        pg_ctl = server_binary("pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", str(int(timeout)), "start")
        self._wait_accepting(timeout)
        return self

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        engine = self.engine()
        try:
            while True:
                try:
                    with engine.connect() as connection:
                        connection.execute(sa.text("SELECT 1"))
                    return
                except sa.exc.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)  # polling the server's start, within the deadline
        finally:
            engine.dispose()

    def crash(self) -> None:
        """Stop at once, as a crash: connections are cut and nothing is checkpointed (``-m immediate``); the next
        start runs crash recovery, as after a power cut."""
        self._run(server_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def crash_restart(self, down_seconds: float = 1.0) -> None:
        """Crash, stay down ``down_seconds``, start again on the same port."""
        self.crash()
        time.sleep(down_seconds)  # the outage itself: services see a database that is gone for this long
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(server_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def dump_databases(self, folder: Path) -> list[Path]:
        """A plain-SQL dump of every database on the server into ``folder`` (the evidence of a failed run outlives
        the server); the ones that could not be dumped are skipped, the server may be down."""
        folder.mkdir(parents=True, exist_ok=True)
        engine = self.engine()
        try:
            with engine.connect() as connection:
                names = connection.execute(sa.text("SELECT datname FROM pg_database WHERE NOT datistemplate")).scalars()
                databases = [name for name in names if name != "postgres"]
        except sa.exc.OperationalError:
            return []
        finally:
            engine.dispose()
        dumped = []
        for name in databases:
            target = folder / f"{name}.sql"
            command = [server_binary("pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name]
            with target.open("w") as out:
                done = subprocess.run(command, stdout=out, stderr=subprocess.DEVNULL, check=False, timeout=300)
            if done.returncode == 0:
                dumped.append(target)
        return dumped

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.remove()
