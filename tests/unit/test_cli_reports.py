"""``ttg report outcomes`` prints the service's figures as a table or its CSV as is, and says which key was refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ttg.cli import app

FIGURE = {
    "month": "2026-12",
    "establishment": "DMI",
    "agency_kind": "",
    "agency": "",
    "measure": "ready_before_release",
    "key": "gp",
    "count": 2,
    "total": 3,
    "value": 0.6667,
}


def answering(monkeypatch: pytest.MonkeyPatch, response: httpx.Response) -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []

    def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        asked.append({"method": method, "url": url, **kwargs})
        return response

    monkeypatch.setattr(httpx, "request", request)
    return asked


def test_a_table_of_the_figures_with_the_filters_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = answering(monkeypatch, httpx.Response(200, json={"figures": [FIGURE]}))
    result = CliRunner().invoke(
        app, ["report", "outcomes", "--api-key", "ttg_a_b", "--from", "2026-11", "--establishment", "DMI"]
    )
    assert result.exit_code == 0, result.output
    heading, row = result.output.splitlines()
    assert heading.split() == [
        "month",
        "establishment",
        "agency_kind",
        "agency",
        "measure",
        "key",
        "count",
        "total",
        "value",
    ]
    assert row.split() == ["2026-12", "DMI", "ready_before_release", "gp", "2", "3", "0.6667"]
    assert asked[0]["params"] == {"from": "2026-11", "establishment": "DMI"}
    assert asked[0]["headers"] == {"Authorization": "Bearer ttg_a_b"}


def test_csv_as_the_service_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = answering(monkeypatch, httpx.Response(200, text="month,establishment\r\n2026-12,DMI\r\n"))
    result = CliRunner().invoke(app, ["report", "outcomes", "--api-key", "ttg_a_b", "--csv"])
    assert result.output.splitlines() == ["month,establishment", "2026-12,DMI"]
    assert asked[0]["params"] == {"format": "csv"}


def test_a_refused_key_is_named_without_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = {"title": "Forbidden", "detail": "This client may not read reports."}
    answering(monkeypatch, httpx.Response(403, json=problem, headers={"content-type": "application/problem+json"}))
    result = CliRunner().invoke(app, ["report", "outcomes", "--api-key", "ttg_abc_s3cret"])
    assert result.exit_code == 1
    assert "ttg_abc_..." in result.output and "s3cret" not in result.output
