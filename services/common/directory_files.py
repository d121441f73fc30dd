"""The directory of services in its YAML form: one file, or every ``*.yaml`` in a folder.

Handover seeds its directory from these files and the notifier checks them; both read them here, so a file
means the same to both. ``${NAME}`` and ``${NAME:-default}`` are taken from the environment (the demo's
receiver URL, a deployment's hostnames); a variable that is not set and has no default stops the reading, since
a webhook URL with a hole in it would otherwise pass for a real one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def expand_variables(text: str) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with the environment's value (or the default)."""

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None and match.group(2) is None:
            raise LookupError(f"directory names ${{{match.group(1)}}}, which is not set")
        return found if found is not None else match.group(2)

    return _VARIABLE.sub(value, text)


def read_agency_entries(path: Path) -> list[dict[str, Any]]:
    """Every entry under ``agencies:`` in the file, or in each ``*.yaml`` of the folder in name order."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    entries: list[dict[str, Any]] = []
    for file in files:
        document = yaml.safe_load(expand_variables(file.read_text())) or {}
        entries.extend(document.get("agencies", []))
    return entries


def refuse_repeated_codes(codes: Iterable[str]) -> None:
    """An agency code names one agency: a code given twice (in one file or across files) is a mistake."""
    seen = list(codes)
    repeated = sorted({code for code in seen if seen.count(code) > 1})
    if repeated:
        raise ValueError(f"agency codes appear more than once in the directory: {', '.join(repeated)}")
