"""The shared building blocks: unknown-field detection and refusal, problem pointers, log redaction, UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from contracts.custody import CustodyEventV1
from contracts.release_notice import ReleaseNoticeV1
from services.common.db import UtcDateTime
from services.common.logging import redact_personal_data
from services.common.problems import Problem, validation_errors
from services.common.strict import refuse_unknown_fields, unknown_fields


def test_unknown_fields_are_found_at_every_depth() -> None:
    body = {
        "prison_number": "A1234BC",
        "surname": "x",
        "release": {"destination": {"address": {"postcode": "DH1 1AA", "flat": "2"}}, "when": 1},
        "medications": [{"name": "a"}, {"name": "b", "colour": "red"}],
    }
    assert sorted(unknown_fields(ReleaseNoticeV1, body), key=str) == sorted(
        [
            ("surname",),
            ("release", "when"),
            ("release", "destination", "address", "flat"),
            ("medications", 1, "colour"),
        ],
        key=str,
    )


def test_known_fields_only_means_nothing_unknown() -> None:
    assert unknown_fields(ReleaseNoticeV1, {"prison_number": "A1234BC", "medications": []}) == []


def test_validation_errors_become_json_pointers() -> None:
    errors = validation_errors(
        [
            {"loc": ("body", "release", "destination", "address", "postcode"), "msg": "Value error, not a postcode"},
            {"loc": ("body", "medications", 0, "dose"), "msg": "Field required"},
        ]
    )
    assert errors == [
        {
            "field": "release.destination.address.postcode",
            "pointer": "#/release/destination/address/postcode",
            "detail": "not a postcode",
        },
        {"field": "medications.0.dose", "pointer": "#/medications/0/dose", "detail": "Field required"},
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nhs 999 123 4519 seen", "nhs [nhs-number] seen"),
        ("9991234519", "[nhs-number]"),
        ("prisoner A1234BC moved", "prisoner [prison-number] moved"),
        ({"nested": ["A1234BC"]}, {"nested": ["[prison-number]"]}),
    ],
)
def test_identifiers_are_redacted_from_log_lines(value: object, expected: object) -> None:
    assert redact_personal_data(None, "info", {"event": "x", "value": value})["value"] == expected


def test_datetimes_are_stored_as_utc_and_come_back_aware() -> None:
    column = UtcDateTime()
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    dialect = sqlite.dialect()
    stored = column.process_bind_param(local, dialect)
    assert stored == datetime(2026, 1, 1, 10, 0)
    assert column.process_result_value(stored, dialect) == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 1, 1), dialect)


def test_unknown_fields_are_refused_as_one_problem_naming_each() -> None:
    refuse_unknown_fields(ReleaseNoticeV1, {"prison_number": "A1234BC"}, "the notice")
    with pytest.raises(Problem) as refused:
        refuse_unknown_fields(ReleaseNoticeV1, {"surname": "x", "medications": [{"colour": "red"}]}, "the notice")
    problem = refused.value
    assert (problem.status, problem.kind) == (422, "validation")
    assert problem.detail == "These fields are not part of the notice: surname, medications.0.colour."
    assert problem.extensions["errors"] == [
        {"field": "surname", "pointer": "#/surname", "detail": "unknown field"},
        {"field": "medications.0.colour", "pointer": "#/medications/0/colour", "detail": "unknown field"},
    ]


def test_request_contracts_name_their_unknown_fields() -> None:
    assert CustodyEventV1.unknown_fields({"prison_number": "A1234BC", "kind": "transfer", "colour": 1}) == [("colour",)]
    assert ReleaseNoticeV1.unknown_fields({"release": {"when": 1}}) == [("release", "when")]
