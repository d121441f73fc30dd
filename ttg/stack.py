"""Starts the whole system on one machine: the embedded broker, the three services as separate processes
(each with its own database), and optionally the demo receiver. Used by ``ttg up`` and by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from services.common import credentials
from services.common.roles import ROLE_SCOPES, Role
from ttg.broker import EmbeddedBroker, free_port

SERVICES = ("release_events", "handover", "notifier")
CONSOLE = "console"  # the fourth process: pages for people, started when StackConfig.console is set
# Per-client rate limits lifted, for a load (a benchmark, a chaos run, a test polling many statuses): such a
# client is not the runaway one the limit guards against.
UNLIMITED_RATE_ENV = {
    f"TTG_{s.upper()}_RATE_LIMIT_{k}": v for s in SERVICES for k, v in (("PER_SECOND", "10000"), ("BURST", "10000"))
}
# Consumers' fetches wait up to 200 ms at the broker, not the 50 ms the services default to (for latency): for
# the test systems and the chaos profiles, which judge what is lost or applied twice, not how fast. Tansu answers
# a waiting fetch only when its wait runs out, so idle consumers fetch, and the broker answers, 20 times a second
# each at 50 ms: over 30 s an idle system used 5.3 s of CPU at 50 ms, 2.7 s at 200 ms (the broker 2.7-4.2 s
# against 1.1 s), and the test run keeps three systems up at once on two cores.
QUIET_FETCH_ENV = {f"TTG_{s.upper()}_CONSUMER_FETCH_MAX_WAIT_MS": "200" for s in SERVICES}


def database_url_for(service: str, *, base_url: str | None, data_dir: Path, suffix: str = "") -> str:
    """SQLite file per service under ``data_dir``; or one PostgreSQL database per service on ``base_url``."""
    if base_url is None:
        return f"sqlite:///{data_dir / f'{service}{suffix}.db'}"
    return make_url(base_url).set(database=f"ttg_{service}{suffix}").render_as_string(hide_password=False)


@dataclass
class StackConfig:
    data_dir: Path
    directory_path: Path
    database_base_url: str | None = None
    database_suffix: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    partitions: int = 6
    demo_receiver_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    credentials_path: Path | None = None  # default: <data_dir>/credentials.json
    local_webhooks: bool = True  # http and 127.0.0.1 webhook targets allowed (local runs and tests only)
    console: bool = False  # also start the console (ttg up, the console's acceptance tests)
    # Processes per service (default 1). A second replica is named "<service>-2", has its own port, and shares
    # the database, the broker and the consumer group. PostgreSQL only: a SQLite file belongs to one process.
    replicas: dict[str, int] = field(default_factory=dict)


def service_of(name: str) -> str:
    """The service a process runs: ``handover-2`` runs handover."""
    base, _, number = name.rpartition("-")
    return base if base and number.isdigit() else name


def replica_names(service: str, count: int) -> list[str]:
    return [service] + [f"{service}-{n}" for n in range(2, count + 1)]


@dataclass(frozen=True)
class Client:
    """An API client the stack provisions at start (tests and the demo use them; never production)."""

    client_id: str
    organisation: str
    role: Role
    establishments: tuple[str, ...] = ()


CONSOLE_CLIENT = Client("console", "TTG-CONSOLE", Role.CONSOLE)

DEMO_CLIENTS = (
    Client("demo-prison-healthcare", "HMPPS-HC", Role.PRISON_HEALTHCARE, ("DMI", "HHI", "BMI")),
    Client("demo-operator", "TTG-OPS", Role.OPERATOR),
    # Durham's receiving agencies of the demo directory, so the README's journey can answer as them.
    Client("demo-A99001", "A99001", Role.AGENCY),
    Client("demo-CMHT-DUR", "CMHT-DUR", Role.AGENCY),
    Client("demo-RECONNECT-DUR", "RECONNECT-DUR", Role.AGENCY),
    Client("demo-PDU-DUR", "PDU-DUR", Role.PROBATION),
)


def provision(path: Path, clients: tuple[Client, ...] | list[Client]) -> dict[str, str]:
    """Create (or, when they exist, re-key) the clients; returns each client's API key by client id."""
    keys: dict[str, str] = {}
    for client in clients:
        existing = credentials.read_store(path).by_client(client.client_id)
        if existing is not None and set(existing.scopes) != ROLE_SCOPES[client.role]:
            _rescope(path, client)  # made before its role gained a scope (a store kept from an earlier `ttg up`)
        if existing is not None and existing.revoked_at is None:
            keys[client.client_id] = credentials.rotate(path, client_id=client.client_id, overlap=timedelta(0))
        else:
            keys[client.client_id] = credentials.create(
                path,
                client_id=client.client_id,
                organisation=client.organisation,
                role=client.role,
                establishments=list(client.establishments),
            )
    return keys


def _rescope(path: Path, client: Client) -> None:
    """Give a demo or test client every scope of its role again (never done to a real deployment's store)."""
    with credentials.editing(path) as store:
        credential = store.by_client(client.client_id)
        if credential is not None:
            credential.scopes = sorted(ROLE_SCOPES[client.role])
            store.note("rescoped", client.client_id, datetime.now(UTC))


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.broker = EmbeddedBroker(partitions=config.partitions, log_path=config.data_dir / "logs" / "broker.log")
        self.services = SERVICES + ((CONSOLE,) if config.console else ())
        if config.database_base_url is None and any(n > 1 for n in config.replicas.values()):
            raise ValueError("replicas need PostgreSQL: a SQLite file is one process's database, by design")
        self.replicas = [
            name for service in SERVICES for name in replica_names(service, config.replicas.get(service, 1))[1:]
        ]
        self.ports = {name: config.ports.get(name) or free_port() for name in self.services + tuple(self.replicas)}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.credentials_path = config.credentials_path or config.data_dir / "credentials.json"

    def url(self, service: str) -> str:
        if service == "demo_receiver":
            return f"http://127.0.0.1:{self.config.demo_receiver_port}"
        return f"http://127.0.0.1:{self.ports[service]}"

    def log_path(self, name: str) -> Path:
        return self.config.data_dir / "logs" / f"{name}.log"

    def database_url(self, service: str) -> str:
        return database_url_for(
            service,
            base_url=self.config.database_base_url,
            data_dir=self.config.data_dir,
            suffix=self.config.database_suffix,
        )

    def console_env(self, api_key: str) -> dict[str, str]:
        """The console reaches the services over HTTP with its own credential; it needs no broker."""
        return {
            **os.environ,
            **self.config.extra_env,
            "TTG_CONSOLE_PORT": str(self.ports[CONSOLE]),
            "TTG_CONSOLE_DATABASE_URL": self.database_url(CONSOLE),
            "TTG_CONSOLE_LOG_LEVEL": self.config.log_level,
            "TTG_CONSOLE_API_KEY": api_key,
            **{f"TTG_CONSOLE_{name.upper()}_URL": self.url(name) for name in SERVICES},
        }

    def service_env(self, name: str) -> dict[str, str]:
        service = service_of(name)
        prefix = f"TTG_{service.upper()}_"
        env = {
            **os.environ,
            **self.config.extra_env,
            prefix + "PORT": str(self.ports[name]),
            prefix + "DATABASE_URL": self.database_url(service),
            prefix + "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            prefix + "TOPIC_PARTITIONS": str(self.config.partitions),
            prefix + "LOG_LEVEL": self.config.log_level,
            # The embedded broker holds a joining member for about half the session timeout: keep it short.
            prefix + "CONSUMER_SESSION_TIMEOUT_MS": "6000",
            prefix + "CONSUMER_HEARTBEAT_INTERVAL_MS": "1500",
            prefix + "CREDENTIALS_PATH": str(self.credentials_path),
            "TTG_NOTIFIER_DIRECTORY_PATH": str(self.config.directory_path),
            "TTG_HANDOVER_DIRECTORY_PATH": str(self.config.directory_path),
            # Webhook secrets given to the directory admin API: written by handover, read by the notifier.
            "TTG_HANDOVER_SECRET_STORE_PATH": str(self.config.data_dir / "secrets"),
        }
        if self.config.local_webhooks:
            env.setdefault("TTG_WEBHOOKS_ALLOW_HTTP", "true")
            env.setdefault("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
        if self.config.demo_receiver_port:
            env["TTG_DEMO_RECEIVER_URL"] = self.url("demo_receiver")
            env["TTG_DEMO_RECEIVER_PORT"] = str(self.config.demo_receiver_port)
        return env

    def start(self, timeout: float = 60.0) -> Stack:
        (self.config.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.broker.start()
        try:
            if self.config.demo_receiver_port:
                self._spawn("demo_receiver", "ttg.demo_receiver", self.service_env("notifier"))
            for service in SERVICES:
                self.start_service(service)
            if self.config.console:
                self.start_service(CONSOLE)
            for name in self.processes:
                self.wait_healthy(name, timeout)
            # Second replicas once the first ones have migrated their databases: never two migrations at once.
            for name in self.replicas:
                self.start_service(name)
            for name in self.replicas:
                self.wait_healthy(name, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_service(self, service: str) -> None:
        if service == CONSOLE:
            key = provision(self.credentials_path, [CONSOLE_CLIENT])[CONSOLE_CLIENT.client_id]
            self._spawn(service, "services.console", self.console_env(key))
            return
        self._spawn(service, f"services.{service_of(service)}", self.service_env(service))

    def _spawn(self, name: str, module: str, env: dict[str, str]) -> None:
        log = open(self.log_path(name), "ab")  # noqa: SIM115 - kept open for the life of the process
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path.cwd()
        )

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        # One client for every look: building one (its TLS context, even for plain HTTP) costs about 30 ms of CPU.
        with httpx.Client(timeout=1.0) as http:
            self._wait_healthy(name, http, timeout)

    def _wait_healthy(self, name: str, http: httpx.Client, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            process = self.processes[name]
            if process.poll() is not None:
                tail = self.log_path(name).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with code {process.returncode} at start:\n{tail}")
            try:
                answer = http.get(self.url(name) + "/healthz")
                if answer.status_code == 200:
                    if answer.json().get("pid") != process.pid:
                        raise RuntimeError(f"another process answers on {self.url(name)}: is another `ttg up` running?")
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} was not healthy within {timeout}s; see {self.log_path(name)}")
            time.sleep(0.1)

    def stop_service(self, name: str, *, kill: bool = False, timeout: float = 15.0) -> None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_service(name)
        self.broker.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
