"""The log redaction processor: personal data and secrets never reach a log line, by key or by pattern."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.common.logging import REDACTED, redact_personal_data, redact_text
from ttg.synthetic import release_notice

ROOT = Path(__file__).resolve().parents[3]


def values(notice: dict[str, Any]) -> list[str]:
    address = notice["release"]["destination"]["address"]
    return [
        notice["nhs_number"],
        notice["prison_number"],
        notice["given_name"],
        notice["family_name"],
        notice["date_of_birth"],
        *address["lines"],
        address["postcode"],
        notice["prison_contact"]["email"],
    ]


def test_a_whole_notice_logged_by_mistake_leaves_nothing_behind() -> None:
    notice = release_notice(random.Random(7))
    line = json.dumps(redact_personal_data(None, "info", {"event": "oops", "notice": notice, "copy": notice}))
    for value in values(notice):
        assert value not in line, value
    assert '"notice": "[redacted]"' in line


@pytest.mark.parametrize(
    "key",
    [
        "given_name",
        "Family-Name",
        "nhs_number",
        "date_of_birth",
        "postcode",
        "address",
        "authorization",
        "api_key",
        "secret",
    ],
)
def test_values_under_personal_or_secret_keys_are_replaced_at_any_depth(key: str) -> None:
    event = {"event": "x", "outer": [{"inner": {key: {"anything": "at all"}}}], key: "Alex"}
    redacted = redact_personal_data(None, "info", event)
    assert redacted[key] == REDACTED
    assert redacted["outer"][0]["inner"][key] == REDACTED


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("nhs 943 476 5919 and 9434765919", ["943 476 5919", "9434765919"]),
        ("prisoner A1234BC moved", ["A1234BC"]),
        ("lives at DH1 4QT or dh1 4qt? DH14QT", ["DH1 4QT", "DH14QT"]),
        ("born 1984-02-29, or 29/02/1984", ["1984-02-29", "29/02/1984"]),
        ("mail healthcare.dmi@example.org", ["healthcare.dmi@example.org"]),
        (
            "1 validation error\n  Value error [type=value_error, input_value='Quillon', input_type=str]",
            ["Quillon"],
        ),
        ("(psycopg.errors.UniqueViolation) DETAIL:  Key (nhs)=(9434765919) already exists", ["9434765919"]),
        (
            "[SQL: INSERT INTO x VALUES (?)]\n[parameters: ('Quillon', 'Vexmoor')]\n(Background on this",
            ["Quillon"],
        ),
        (
            "Authorization: Bearer ttg_0123456789abcdef_s3cr3t-Value_x",
            ["ttg_0123456789abcdef_s3cr3t", "s3cr3t"],
        ),
        ("secret whsec_jUm9hxCLs59Dydy4p8MCtweBQ9H0Z7jy", ["whsec_jUm9hxCLs59Dydy4p8MCtweBQ9H0Z7jy"]),
    ],
)
def test_patterns_in_free_text_are_masked(text: str, gone: list[str]) -> None:
    redacted = redact_text(text)
    for value in gone:
        assert value not in redacted, redacted


def test_identifiers_and_timestamps_are_kept() -> None:
    text = "handover 6f1c2d3e-aaaa-4bbb-8ccc-123456789abc at 2026-11-23T15:00:00.123+00:00 webhook msg_ab12"
    assert redact_text(text) == text


@pytest.mark.hazard("H08")
def test_an_exception_logged_with_its_traceback_carries_no_personal_data() -> None:
    """The real logging set-up in a fresh process: a notice's validation error, logged with its traceback."""
    notice = release_notice(random.Random(11))
    notice["nhs_number"] = "1234567890"
    program = f"""
import json
from services.common.logging import configure_logging
import structlog
from contracts.release_notice import ReleaseNoticeV1
configure_logging("test")
notice = json.loads({json.dumps(json.dumps(notice))})
try:
    ReleaseNoticeV1.model_validate(notice)
except Exception:
    structlog.get_logger().exception("notice.invalid", given_name=notice["given_name"])
import logging
try:
    ReleaseNoticeV1.model_validate(notice)
except Exception:
    logging.getLogger("uvicorn.error").exception("stdlib path")
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "notice.invalid" in done.stdout and "stdlib path" in done.stdout
    for value in [*values(notice), "1234567890"]:
        assert value not in done.stdout, value
