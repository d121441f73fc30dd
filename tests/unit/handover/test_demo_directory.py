"""The demo directory: every area has every kind of agency, every demo establishment its prison healthcare,
and both readers of the file (handover's routing, notifier's endpoints) accept it."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.handover import AgencyKind
from services.handover.adapters.directory_files import read_directory_files
from services.handover.domain.referral_routing import prison_healthcare_of
from services.notifier.adapters.directory_file import load_directory
from services.notifier.adapters.signing import current_secret

DEMO = Path(__file__).parents[3] / "deploy" / "directory"


def test_every_area_has_every_kind_and_every_establishment_its_prison_healthcare(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_HTTP", "true")  # the demo directory points at a local receiver
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    agencies = read_directory_files(DEMO)
    for authority in ("County Durham", "Middlesbrough", "Birmingham"):
        kinds = {a.kind for a in agencies if a.covers_authority(authority)}
        assert kinds == set(AgencyKind), authority
    for establishment in ("DMI", "HHI", "BMI"):
        assert prison_healthcare_of(establishment, agencies) is not None, establishment


def test_the_notifier_reads_the_same_agencies_with_their_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_HTTP", "true")  # the demo directory points at a local receiver
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    endpoints = load_directory(DEMO)
    assert {a.code for a in endpoints.agencies} == {a.code for a in read_directory_files(DEMO)}
    secrets = [current_secret(agency.webhook).get_secret_value() for agency in endpoints.agencies]
    assert all(secret.startswith("whsec_") for secret in secrets)


def test_the_asyncapi_document_names_existing_schemas() -> None:
    import re

    contracts = Path(__file__).parents[3] / "contracts"
    text = (contracts / "asyncapi.yaml").read_text()
    names = re.findall(r'"\./schemas/([^"]+)"', text)
    assert names and all((contracts / "schemas" / name).exists() for name in names)
