"""``ttg outbox replay``'s argument handling: times without an offset are UTC, the window is sent in UTC, a
reversed or unreadable window and an unknown service are refused before any request, an unreachable service
is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import typer
from typer.testing import CliRunner

from ttg.broker import free_port
from ttg.cli import app
from ttg.cli_outbox import parse_time, replay_body


def test_a_time_without_an_offset_is_utc_and_one_with_an_offset_keeps_it() -> None:
    assert parse_time("2026-12-02T09:30", "--since") == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert parse_time("2026-12-02T09:30Z", "--since") == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert parse_time("2026-12-02T10:30+01:00", "--since") == datetime(
        2026, 12, 2, 10, 30, tzinfo=timezone(timedelta(hours=1))
    )


def test_the_window_is_sent_in_utc() -> None:
    assert replay_body("2026-12-02T10:30+01:00", "2026-12-02T12:00Z") == {
        "since": "2026-12-02T09:30:00+00:00",
        "until": "2026-12-02T12:00:00+00:00",
    }
    assert replay_body("2026-12-02", None) == {"since": "2026-12-02T00:00:00+00:00"}


@pytest.mark.parametrize(
    ("since", "until", "hint"),
    [
        ("yesterday", None, "--since"),
        ("2026-12-02T09:00Z", "soon", "--until"),
        ("2026-12-02T09:00Z", "2026-12-02T09:00Z", "--until"),
    ],
)
def test_an_unreadable_or_reversed_window_is_refused(since: str, until: str | None, hint: str) -> None:
    with pytest.raises(typer.BadParameter) as refused:
        replay_body(since, until)
    assert refused.value.param_hint == hint


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["outbox", "replay", *args], env={"TTG_OPERATOR_API_KEY": "ttg_abc_secret"})
    return result.exit_code, result.output


def test_bad_arguments_stop_the_command_before_any_request() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: a request would fail with exit code 2 too
    code, output = _run("--since", "2026-12-02T10:00Z", "--until", "2026-12-02T09:00Z", "--release-events-url", closed)
    assert code == 2 and "must be later than --since" in output
    code, output = _run("--since", "2026-12-02T10:00Z", "--service", "console")
    assert code == 2 and "console" in output
    code, output = _run("--until", "2026-12-02T10:00Z")
    assert code == 2 and "--since" in output


def test_a_service_that_does_not_answer_is_named() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    code, output = _run("--since", "2026-12-02T10:00Z", "--service", "handover", "--handover-url", closed)
    assert code == 2
    assert f"Could not reach handover at {closed}" in output
