"""A refusal's answer and its log line, written by the route once the refusal's record has committed."""

from __future__ import annotations

from structlog.testing import capture_logs

from services.release_events.domain.custody_rules import CustodyRefused, Refused
from services.release_events.domain.notices import IdempotencyConflict
from services.release_events.entrypoints.api.deps import refusal_answer


def test_a_custody_refusal_is_answered_409_and_logged_with_its_rule_and_action() -> None:
    rule = Refused("held-elsewhere", "held by another establishment", "establishment_code")
    with capture_logs() as logged:
        problem = refusal_answer(CustodyRefused(rule), action="notice.refused")
    assert problem.status == 409
    assert [(line["event"], line["rule"], line["action"]) for line in logged] == [
        ("custody.refused", "held-elsewhere", "notice.refused")
    ]


def test_another_refusal_is_answered_without_a_custody_line() -> None:
    with capture_logs() as logged:
        problem = refusal_answer(IdempotencyConflict(), action="notice.refused")
    assert problem.status == 409 and logged == []
