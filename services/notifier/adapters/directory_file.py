"""The directory in its YAML form (one file, or every ``*.yaml`` in a folder; ``${VAR}`` and ``${VAR:-default}``
taken from the environment), for checks, the demo receiver and tests; the service itself reads its copy from
directory events."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from services.common.ssrf import check_webhook_url
from services.notifier.domain.agencies import Agency, Directory

_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def expand_variables(text: str) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with the environment's value (or the default)."""

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None and match.group(2) is None:
            raise LookupError(f"directory names ${{{match.group(1)}}}, which is not set")
        return found if found is not None else match.group(2)

    return _VARIABLE.sub(value, text)


def load_directory(path: Path) -> Directory:
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    agencies: list[Agency] = []
    for file in files:
        document = yaml.safe_load(expand_variables(file.read_text())) or {}
        agencies.extend(Agency.model_validate(item) for item in document.get("agencies", []))
    codes = [agency.code for agency in agencies]
    for agency in agencies:
        check_webhook_url(str(agency.webhook.url))  # SSRF: https and public targets only, unless allowed
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"agency codes appear more than once in the directory: {', '.join(duplicates)}")
    return Directory(agencies=agencies)
