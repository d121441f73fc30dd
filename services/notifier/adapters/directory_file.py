"""The directory in its YAML form (one file, or every ``*.yaml`` in a folder; ``${VAR}`` and ``${VAR:-default}``
taken from the environment), for checks, the demo receiver and tests; the service itself reads its copy from
directory events."""

from __future__ import annotations

from pathlib import Path

from services.common.directory_files import read_agency_entries, refuse_repeated_codes
from services.common.ssrf import check_webhook_url
from services.notifier.domain.agencies import Agency, Directory


def load_directory(path: Path) -> Directory:
    agencies = [Agency.model_validate(item) for item in read_agency_entries(path)]
    for agency in agencies:
        check_webhook_url(str(agency.webhook.url))  # SSRF: https and public targets only, unless allowed
    refuse_repeated_codes(agency.code for agency in agencies)
    return Directory(agencies=agencies)
