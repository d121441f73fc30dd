"""Structured JSON logs: one line per step, carrying the event id and correlation id, never personal data.

Services log identifiers (notice id, event id, handover id), never names, NHS numbers, dates of birth,
addresses or secrets. :func:`redact_personal_data` is the second line of defence, applied to every line of
every logger (structlog's and the standard library's, uvicorn's included), at any depth of nesting:

* by key: any value under a key that names personal data or a secret (``given_name``, ``nhs_number``,
  ``date_of_birth``, ``address``, ``postcode``, ``authorization``, ``api_key`` ...) is replaced
  whole, whatever its shape, so a whole notice or pack logged by mistake is dropped;
* by pattern, in every other string (messages, exception texts, tracebacks): NHS numbers, prison numbers,
  UK postcodes, bare dates (``1990-04-12``; timestamps with a time are kept), e-mail addresses, API keys and
  webhook secrets, bearer tokens, and the values that libraries echo in their errors (pydantic's
  ``input_value=``, SQLAlchemy's ``[parameters: ...]``, PostgreSQL's ``Key (...)=(...)``).

Tracebacks are rendered without local variables, which would otherwise carry whole records.
Names inside free text cannot be recognised by pattern: that is why the first line of defence is to log ids.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, WrappedLogger

REDACTED = "[redacted]"

SENSITIVE_KEYS = frozenset(
    {
        "given_name",
        "family_name",
        "name",
        "names",
        "full_name",
        "first_name",
        "last_name",
        "surname",
        "nhs_number",
        "nhs",
        "date_of_birth",
        "dob",
        "birth_date",
        "address",
        "addresses",
        "address_lines",
        "lines",
        "line1",
        "line2",
        "postcode",
        "post_code",
        "town",
        "destination",
        "email",
        "phone",
        "telephone",
        "patient_demographics",
        "pack",
        "notice",
        "body",
        "payload",
        "data",
        "diagnoses",
        "crisis_plan",
        "early_warning_signs",
        "summary",
        "authorization",
        "api_key",
        "apikey",
        "key_secret",
        "secret",
        "secret_ref",
        "password",
        "token",
        "cookie",
    }
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"input_value=(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\{.*?\}|\[.*?\]|\S+)", re.DOTALL),
        "input_value=[redacted]",
    ),
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\(|$|\n|\[))", re.DOTALL), "[parameters: [redacted]]"),
    (re.compile(r"Key \(.*?\)=\(.*?\)"), "Key [redacted]"),
    (re.compile(r"\bttg_[0-9a-f]{16}_[A-Za-z0-9_-]+"), "[api-key]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "[webhook-secret]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b"), "[nhs-number]"),
    (re.compile(r"\b[A-Z]\d{4}[A-Z]{2}\b"), "[prison-number]"),
    (re.compile(r"\b(?:GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b"), "[postcode]"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b(?![T:\d])"), "[date]"),
    (re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b"), "[date]"),
]


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        if "lineno" in value and "filename" in value:  # a traceback frame: its "name" is a function's
            return {key: _redact(item) for key, item in value.items()}
        return {key: REDACTED if _sensitive(key) else _redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(str(value))


def redact_personal_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    return {key: REDACTED if _sensitive(key) else _redact(value) for key, value in event_dict.items()}


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout for this process, including lines from the standard library's loggers."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
    ]
    structlog.configure(
        processors=[
            *shared,
            lambda _, __, event_dict: {"service": service, **event_dict},
            redact_personal_data,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                lambda _, __, event_dict: {"service": service, **event_dict},
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_personal_data,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
