"""The whole system on real parts for acceptance tests: embedded broker, three service processes on
SQLite or PostgreSQL, a directory of services whose webhooks point at a real test receiver."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.receiver import WebhookReceiver
from ttg.stack import Stack, StackConfig

POSTGRES_URL = os.environ.get("TTG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# Kinds of the test agencies; Durham (DH1-DH3) has three recipients, Birmingham (B5) three others.
TEST_AGENCIES: list[dict[str, Any]] = [
    {"code": "A99001", "kind": "gp_practice", "districts": ["DH1", "DH2", "DH3"], "authorities": ["County Durham"]},
    {"code": "CMHT-DUR", "kind": "community_mental_health_team", "districts": ["DH1", "DH2", "DH3"],
     "authorities": ["County Durham"]},
    {"code": "PDU-DUR", "kind": "probation_delivery_unit", "districts": ["DH1", "DH2", "DH3"],
     "authorities": ["County Durham"]},
    {"code": "A99003", "kind": "gp_practice", "districts": ["B5", "B12"], "authorities": ["Birmingham"]},
    {"code": "CMHT-BHM", "kind": "community_mental_health_team", "districts": ["B5", "B12"],
     "authorities": ["Birmingham"]},
    {"code": "SMS-BHM", "kind": "substance_misuse_service", "districts": ["B5", "B12"],
     "authorities": ["Birmingham"]},
    # Prison healthcare teams: told when a referral about one of their people goes unanswered. They cover no
    # district, so they never receive packs.
    {"code": "HCC-DMI", "kind": "prison_healthcare", "districts": [], "authorities": [], "establishments": ["DMI"]},
    {"code": "HCC-BMI", "kind": "prison_healthcare", "districts": [], "authorities": [], "establishments": ["BMI"]},
]


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
                **({"establishments": agency["establishments"]} if agency.get("establishments") else {}),
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

    def client(self, service: str) -> httpx.Client:
        return httpx.Client(base_url=self.stack.url(service), timeout=10.0)

    @property
    def bootstrap_servers(self) -> str:
        return self.stack.broker.bootstrap_servers


def start_system(
    tmp: Path, backend: str, extra_env: dict[str, str] | None = None, agencies: list[dict[str, Any]] | None = None
) -> RunningSystem:
    receiver = WebhookReceiver().start()
    directory = tmp / "directory.yaml"
    secrets = write_directory(directory, receiver, agencies)
    config = StackConfig(
        data_dir=tmp,
        directory_path=directory,
        database_base_url=POSTGRES_URL if backend == "postgresql" else None,
        database_suffix=f"_test_{uuid.uuid4().hex[:10]}",
        partitions=3,
        extra_env=extra_env or {},
        log_level="DEBUG",
    )
    stack = Stack(config)
    try:
        stack.start()
    except BaseException:
        receiver.stop()
        raise
    return RunningSystem(stack=stack, receiver=receiver, secrets=secrets, backend=backend)


def stop_system(system: RunningSystem) -> None:
    system.stack.stop()
    system.receiver.stop()
    if system.backend == "postgresql":
        drop_test_databases(system.stack)


def drop_test_databases(stack: Stack) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        for service in ("release_events", "handover", "notifier"):
            name = f"ttg_{service}{stack.config.database_suffix}"
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
