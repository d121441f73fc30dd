"""The whole system on real parts for acceptance tests: embedded broker, three service processes on
SQLite or PostgreSQL, a directory of services whose webhooks point at a real test receiver."""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy.engine import make_url

from services.common.roles import Role
from services.common.tracing import TRACE_FILE_ENV
from tests.support.receiver import WebhookReceiver
from ttg.stack import QUIET_FETCH_ENV, Client, Stack, StackConfig, provision

POSTGRES_URL = os.environ.get("TTG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

DURHAM = {"districts": ["DH1", "DH2", "DH3"], "authorities": ["County Durham"]}
TEESSIDE = {"districts": ["TS1", "TS3", "TS5"], "authorities": ["Middlesbrough"]}
BIRMINGHAM = {"districts": ["B5", "B12"], "authorities": ["Birmingham"]}

# One TLS context for every test client: httpx builds one per client otherwise, loading the CA bundle, about 30 ms
# of CPU each (the services answer plain HTTP, so it is never used), and the tests make a client per request.
_TLS = httpx.create_ssl_context()

# The test directory. A Durham release with consent goes to the GP practice, the mental-health team and
# probation (RECONNECT-DUR is the mental-health fallback); Teesside has no mental-health team, so RECONNECT
# takes its mental-health referrals; each establishment has its prison-healthcare contact.
TEST_AGENCIES: list[dict[str, Any]] = [
    {"code": "A99001", "kind": "gp_practice", **DURHAM},
    {"code": "CMHT-DUR", "kind": "community_mental_health_team", **DURHAM},
    {"code": "RECONNECT-DUR", "kind": "reconnect", **DURHAM, "eligibility": {"min_age": 18}},
    {"code": "PDU-DUR", "kind": "probation_delivery_unit", **DURHAM},
    {"code": "A99002", "kind": "gp_practice", **TEESSIDE},
    {"code": "RECONNECT-TEES", "kind": "reconnect", **TEESSIDE},
    {"code": "PDU-TEES", "kind": "probation_delivery_unit", **TEESSIDE},
    {"code": "A99003", "kind": "gp_practice", **BIRMINGHAM},
    {"code": "CMHT-BHM", "kind": "community_mental_health_team", **BIRMINGHAM},
    {"code": "SMS-BHM", "kind": "substance_misuse_service", **BIRMINGHAM},
    {"code": "PDU-BHM", "kind": "probation_delivery_unit", **BIRMINGHAM},
    {
        "code": "PH-DMI",
        "kind": "prison_healthcare",
        "districts": [],
        "authorities": ["County Durham"],
        "establishments": ["DMI"],
    },
    {
        "code": "PH-HHI",
        "kind": "prison_healthcare",
        "districts": [],
        "authorities": ["Middlesbrough"],
        "establishments": ["HHI"],
    },
    {
        "code": "PH-BMI",
        "kind": "prison_healthcare",
        "districts": [],
        "authorities": ["Birmingham"],
        "establishments": ["BMI"],
    },
]


# API clients of the tests: the default client is prison healthcare of every test establishment.
DEFAULT_CLIENT = "prison-all"
TEST_CLIENTS: list[Client] = [
    Client(DEFAULT_CLIENT, "HMPPS-HC", Role.PRISON_HEALTHCARE, ("DMI", "HHI", "BMI")),
    Client("prison-dmi", "DMI-HC", Role.PRISON_HEALTHCARE, ("DMI",)),
    Client("prison-bmi", "BMI-HC", Role.PRISON_HEALTHCARE, ("BMI",)),
    Client("prison-hhi", "HHI-HC", Role.PRISON_HEALTHCARE, ("HHI",)),
    Client("gp-A99001", "A99001", Role.AGENCY),
    Client("cmht-dur", "CMHT-DUR", Role.AGENCY),
    Client("probation-dur", "PDU-DUR", Role.PROBATION),
    Client("gp-A99003", "A99003", Role.AGENCY),
    Client("cmht-bhm", "CMHT-BHM", Role.AGENCY),
    Client("operator", "TTG-OPS", Role.OPERATOR),
]


def agency_clients(agencies: list[dict[str, Any]]) -> list[Client]:
    """One client per receiving agency of a test directory, named agency-<code>: they answer their referrals."""
    return [
        Client(
            f"agency-{agency['code']}",
            agency["code"],
            Role.PROBATION if agency["kind"] == "probation_delivery_unit" else Role.AGENCY,
        )
        for agency in agencies
        if agency["kind"] != "prison_healthcare"
    ]


def client_for_path(path: str) -> str:
    """The test client entitled to call ``path``: the agency under /v1/agencies/{code}/, the operator for
    the directory admin API, otherwise prison healthcare of every test establishment."""
    parts = path.strip("/").split("/")
    if len(parts) > 2 and parts[1] == "agencies":
        return f"agency-{parts[2]}"
    if len(parts) > 1 and parts[1] == "directory":
        return "operator"
    return DEFAULT_CLIENT


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def write_directory(
    path: Path,
    receiver: WebhookReceiver,
    agencies: list[dict[str, Any]] | None = None,
    secrets: dict[str, str] | None = None,
    webhook_extra: dict[str, dict[str, Any]] | None = None,
) -> dict[str, str]:
    """Write the test directory; returns each agency's webhook secret. ``secrets`` keeps given secrets (others
    are new); ``webhook_extra`` adds webhook settings per agency code (previous_secrets, paused)."""
    agencies = TEST_AGENCIES if agencies is None else agencies
    secrets = {agency["code"]: (secrets or {}).get(agency["code"]) or new_secret() for agency in agencies}
    document = {
        "agencies": [
            {
                "code": agency["code"],
                "kind": agency["kind"],
                "name": f"Test agency {agency['code']} (fictitious)",
                "contact_email": f"{agency['code'].lower()}@example.org",
                "coverage": {"postcode_districts": agency["districts"], "local_authorities": agency["authorities"]},
                **{key: agency[key] for key in ("establishments", "eligibility", "priority") if key in agency},
                "webhook": {
                    "url": receiver.url(agency["code"]),
                    "secret_ref": f"literal:{secrets[agency['code']]}",
                    **(webhook_extra or {}).get(agency["code"], {}),
                },
            }
            for agency in agencies
        ]
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return secrets


@dataclass
class RunningSystem:
    stack: Stack
    receiver: WebhookReceiver
    secrets: dict[str, str]
    backend: str
    api_keys: dict[str, str]

    def client(self, service: str, as_client: str | None = DEFAULT_CLIENT) -> httpx.Client:
        """An HTTP client of ``service`` authenticated as the test client ``as_client`` (None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.api_keys[as_client]}"} if as_client else {}
        return httpx.Client(base_url=self.stack.url(service), timeout=10.0, headers=headers, verify=_TLS)

    @property
    def bootstrap_servers(self) -> str:
        return self.stack.broker.bootstrap_servers


def trace_file(data_dir: Path) -> Path:
    """Where the services of a test system write their finished spans, one JSON line each."""
    return data_dir / "traces.jsonl"


def finished_spans(system: RunningSystem) -> list[dict[str, Any]]:
    """Every span the system's services have finished so far (as the SDK writes a span in JSON)."""
    path = trace_file(system.stack.config.data_dir)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_system(
    tmp: Path,
    backend: str,
    extra_env: dict[str, str] | None = None,
    agencies: list[dict[str, Any]] | None = None,
    console: bool = False,
    database_base_url: str | None = None,
    replicas: dict[str, int] | None = None,
) -> RunningSystem:
    """The whole system on ``backend``. ``database_base_url`` puts its PostgreSQL databases on another server
    than the shared test one (a throwaway server a test may crash: ``ttg/chaos/postgres_cluster.py``);
    ``replicas``: processes per service (PostgreSQL only), e.g. {"handover": 2} adds "handover-2"."""
    receiver = WebhookReceiver().start()
    directory = tmp / "directory.yaml"
    secrets = write_directory(directory, receiver, agencies)
    config = StackConfig(
        data_dir=tmp,
        directory_path=directory,
        database_base_url=(database_base_url or POSTGRES_URL) if backend == "postgresql" else None,
        database_suffix=f"_test_{uuid.uuid4().hex[:10]}",
        partitions=3,
        extra_env={TRACE_FILE_ENV: str(trace_file(tmp)), **QUIET_FETCH_ENV, **(extra_env or {})},
        log_level="DEBUG",
        console=console,
        replicas=replicas or {},
    )
    stack = Stack(config)
    api_keys = provision(stack.credentials_path, TEST_CLIENTS + agency_clients(agencies or TEST_AGENCIES))
    try:
        stack.start()
    except BaseException:
        receiver.stop()
        raise
    return RunningSystem(stack=stack, receiver=receiver, secrets=secrets, backend=backend, api_keys=api_keys)


def restart_system(system: RunningSystem) -> RunningSystem:
    """Stop every process of the system, the embedded broker included, and start it again on the same data
    directory and databases, as when ``./run up`` is stopped and started again: the new broker is empty and
    has a new cluster id. The receiver, the webhook secrets and the API keys are kept."""
    system.stack.stop()
    stack = Stack(system.stack.config)
    stack.start()
    return RunningSystem(
        stack=stack, receiver=system.receiver, secrets=system.secrets, backend=system.backend, api_keys=system.api_keys
    )


def stop_system(system: RunningSystem) -> None:
    system.stack.stop()
    system.receiver.stop()
    if system.backend == "postgresql" and system.stack.config.database_base_url == POSTGRES_URL:
        drop_test_databases(system.stack)  # a throwaway server goes with its databases


def drop_database(url: str) -> None:
    """Drop a test database on the test PostgreSQL server (by the database name in ``url``)."""
    import sqlalchemy as sa

    name = make_url(url).database
    engine = sa.create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def drop_test_databases(stack: Stack) -> None:
    for service in stack.services:
        drop_database(stack.database_url(service))
