"""Signatures verify with the standardwebhooks library, across a rotation; the directory reads tolerantly."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.adapters.directory_file import load_directory
from services.notifier.adapters.signing import signed_headers, signing_secrets
from services.notifier.domain.agencies import AgencyKind

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _directory(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "agencies": [
                    {
                        "code": "A99001",
                        "kind": "gp_practice",
                        "name": "GP",
                        "coverage": {"postcode_districts": ["DH1"]},
                        "eligibility": {"ages": "any"},  # a routing key of another part of the system: ignored here
                        "webhook": {
                            "url": "http://127.0.0.1:9/webhooks/A99001",
                            "secret_ref": f"literal:{new}",
                            "previous_secrets": [{"secret_ref": f"literal:{old}", "until": "2026-11-24T12:00:00Z"}],
                        },
                    },
                    {
                        "code": "HCC-DMI",
                        "kind": "prison_healthcare",
                        "name": "Durham healthcare",
                        "establishments": ["DMI"],
                        "owner_contact": "it@example.org",
                        "webhook": {"url": "http://127.0.0.1:9/x", "secret_ref": "literal:whsec_AA=="},
                    },
                    {
                        "code": "RECONNECT-TEES",
                        "kind": "reconnect",
                        "name": "Tees RECONNECT",
                        "coverage": {"postcode_districts": ["TS1"], "local_authorities": ["Middlesbrough"]},
                        "webhook": {"url": "http://127.0.0.1:9/y", "secret_ref": "literal:whsec_AA==", "paused": True},
                    },
                ]
            }
        )
    )
    return path


@pytest.mark.hazard("H18")
def test_both_secrets_sign_during_the_overlap_and_only_the_new_one_after(tmp_path: Path) -> None:
    old, new = _secret(), _secret()
    agency = load_directory(_directory(tmp_path, old, new)).by_code("A99001")
    assert agency is not None
    body = '{"type":"handover.pack.issued","data":{}}'
    at = datetime.now(UTC)

    during = signed_headers(secret=signing_secrets(agency.webhook, NOW), webhook_id="msg_1", at=at, body=body)
    assert len(during["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, during)
    Webhook(new).verify(body, during)

    after = signed_headers(
        secret=signing_secrets(agency.webhook, NOW + timedelta(days=2)), webhook_id="msg_1", at=at, body=body
    )
    Webhook(new).verify(body, after)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, after)


def test_the_webhook_id_and_timestamp_headers() -> None:
    at = datetime.now(UTC)
    secret = _secret()
    headers = signed_headers(secret=SecretStr(secret), webhook_id="msg_1", at=at, body="{}")
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(int(at.timestamp()))
    Webhook(secret).verify("{}", headers)
    with pytest.raises(ValueError):
        signed_headers(secret=[], webhook_id="msg_1", at=at, body="{}")


def test_the_directory_finds_prison_healthcare_and_reconnect_and_keeps_pauses(tmp_path: Path) -> None:
    directory = load_directory(_directory(tmp_path, _secret(), _secret()))
    [healthcare] = directory.prison_healthcare("dmi")
    assert healthcare.kind == AgencyKind.PRISON_HEALTHCARE and healthcare.owner == "it@example.org"
    assert directory.prison_healthcare("HHI") == []
    assert [a.code for a in directory.reconnect_services(district="TS1", local_authority=None)] == ["RECONNECT-TEES"]
    assert [a.code for a in directory.reconnect_services(district="ZZ9", local_authority="middlesbrough")] == [
        "RECONNECT-TEES"
    ]
    assert directory.reconnect_services(district=None, local_authority=None) == []
    reconnect = directory.by_code("RECONNECT-TEES")
    assert reconnect is not None and reconnect.webhook.paused


def test_a_previous_secret_needs_a_timezone(tmp_path: Path) -> None:
    path = _directory(tmp_path, _secret(), _secret())
    path.write_text(path.read_text().replace("2026-11-24T12:00:00Z", "2026-11-24T12:00:00"))
    with pytest.raises(ValueError, match="timezone"):
        load_directory(path)


def test_the_demo_directory_loads() -> None:
    assert load_directory(Path("deploy/directory")).agencies
