"""Export the contracts' JSON Schema files; CI fails when the files on disk drift from the models."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from contracts.answers import ReferralAnsweredV1
from contracts.custody import CustodyEventRecordedV1, CustodyEventV1
from contracts.delivery import DELIVERY_CONTRACTS
from contracts.directory import DirectoryAgencyChangedV1
from contracts.envelope import CloudEvent
from contracts.handover import (
    DistributionEntry,
    HandoverPackAmendedV1,
    HandoverPackIssuedV1,
    HandoverPackWithdrawnV1,
    ReferralRoutedV1,
)
from contracts.release_notice import (
    ReleaseNoticeAmendedV1,
    ReleaseNoticeAmendmentV1,
    ReleaseNoticeSubmittedV1,
    ReleaseNoticeV1,
)

SCHEMA_DIR = Path(__file__).parent / "schemas"

CONTRACTS: dict[str, type[BaseModel]] = {
    "cloudevent-envelope": CloudEvent,
    "release-notice.v1": ReleaseNoticeV1,
    "release-notice-submitted.v1": ReleaseNoticeSubmittedV1,
    "release-notice-amended.v1": ReleaseNoticeAmendedV1,
    "release-notice-amendment.v1": ReleaseNoticeAmendmentV1,
    "custody-event.v1": CustodyEventV1,
    "custody-event-recorded.v1": CustodyEventRecordedV1,
    "handover-pack-issued.v1": HandoverPackIssuedV1,
    "handover-pack-amended.v1": HandoverPackAmendedV1,
    "handover-pack-withdrawn.v1": HandoverPackWithdrawnV1,
    "referral-routed.v1": ReferralRoutedV1,
    "webhook-distribution-entry.v1": DistributionEntry,
    "referral-answered.v1": ReferralAnsweredV1,
    **DELIVERY_CONTRACTS,
    "directory-agency-changed.v1": DirectoryAgencyChangedV1,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export_schemas(*, check: bool = False, directory: Path = SCHEMA_DIR) -> list[str]:
    """Write (or, with ``check``, compare) every schema; returns the names that differ(ed) on disk."""
    directory.mkdir(parents=True, exist_ok=True)
    drifted = []
    for name, model in CONTRACTS.items():
        path = directory / f"{name}.schema.json"
        text = render(model)
        if not path.exists() or path.read_text() != text:
            drifted.append(name)
            if not check:
                path.write_text(text)
    return drifted
