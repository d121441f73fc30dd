"""The chaos run's directory of services and API clients: the three test towns' agencies, each with a webhook
on the chaos receiver and a secret drawn from the run's seed, and one client per agency to answer with."""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import Any

import yaml

from services.common.roles import Role
from ttg.stack import Client

PRISON = Client("chaos-prison", "HMPPS-HC", Role.PRISON_HEALTHCARE, ("DMI", "HHI", "BMI"))
OPERATOR = Client("chaos-operator", "TTG-OPS", Role.OPERATOR)

_TOWNS = {
    "durham": (["DH1", "DH2", "DH3"], "County Durham", "DMI"),
    "teesside": (["TS1", "TS3", "TS5"], "Middlesbrough", "HHI"),
    "birmingham": (["B5", "B12"], "Birmingham", "BMI"),
}
_AGENCIES = {
    "durham": [
        ("A99001", "gp_practice"),
        ("CMHT-DUR", "community_mental_health_team"),
        ("PDU-DUR", "probation_delivery_unit"),
    ],
    "teesside": [("A99002", "gp_practice"), ("RECONNECT-TEES", "reconnect"), ("PDU-TEES", "probation_delivery_unit")],
    "birmingham": [
        ("A99003", "gp_practice"),
        ("CMHT-BHM", "community_mental_health_team"),
        ("SMS-BHM", "substance_misuse_service"),
        ("PDU-BHM", "probation_delivery_unit"),
    ],
}


def agencies() -> list[dict[str, Any]]:
    """Every agency of the chaos directory (receiving agencies, then each prison's healthcare contact)."""
    found: list[dict[str, Any]] = []
    for town, (districts, authority, _) in _TOWNS.items():
        found += [{"code": c, "kind": k, "districts": districts, "authority": authority} for c, k in _AGENCIES[town]]
    for _, authority, establishment in _TOWNS.values():
        found.append(
            {"code": f"PH-{establishment}", "kind": "prison_healthcare", "districts": [], "authority": authority}
            | {"establishments": [establishment]}
        )
    return found


def agency_client(code: str, kind: str) -> Client:
    role = Role.PROBATION if kind == "probation_delivery_unit" else Role.AGENCY
    return Client(f"chaos-agency-{code}", code, role)


def clients() -> list[Client]:
    return [PRISON, OPERATOR] + [
        agency_client(a["code"], a["kind"]) for a in agencies() if a["kind"] != "prison_healthcare"
    ]


def write_directory(path: Path, receiver_url: str, rng: random.Random) -> dict[str, str]:
    """Write the directory with webhooks at ``receiver_url``/<code>; returns each agency's secret."""
    secrets = {a["code"]: "whsec_" + base64.b64encode(rng.randbytes(24)).decode() for a in agencies()}
    document = {
        "agencies": [
            {
                "code": a["code"],
                "kind": a["kind"],
                "name": f"Chaos agency {a['code']} (fictitious)",
                "contact_email": f"{a['code'].lower()}@example.org",
                "coverage": {"postcode_districts": a["districts"], "local_authorities": [a["authority"]]},
                **({"establishments": a["establishments"]} if "establishments" in a else {}),
                "webhook": {"url": f"{receiver_url}/{a['code']}", "secret_ref": f"literal:{secrets[a['code']]}"},
            }
            for a in agencies()
        ]
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return secrets
