"""The Outcomes page's arrangement of the report: every figure in a table as well as a bar, bars to scale."""

from __future__ import annotations

from typing import Any

from services.console.entrypoints.pages.outcomes import charts_of, tables_of


def figure(measure: str, count: int, **more: Any) -> dict[str, Any]:
    base = {"month": "2026-12", "establishment": "DMI", "agency_kind": "", "agency": "", "key": "", "total": None}
    return {**base, "measure": measure, "count": count, "value": None, **more}


FIGURES = [
    figure("releases", 3),
    figure("withdrawn", 1, key="release_cancelled"),
    figure("ready_before_release", 2, key="gp", total=3, value=0.6667),
    figure("answer_hours_median", 2, agency_kind="gp_practice", value=1.5),
    figure("answer_hours_p90", 2, agency_kind="gp_practice", value=3.0),
    figure("answer_hours_median", 1, agency_kind="reconnect", value=3.0),
    figure("answer_hours_p90", 1, agency_kind="reconnect", value=3.0),
    figure("rejections", 1, agency="CMHT-DUR", key="criteria_not_met"),
    figure("reroutes", 1, agency="CMHT-DUR"),
    figure("escalations", 1, agency="RECONNECT-DUR"),
    figure("first_appointments_attended", 1, agency="CMHT-DUR", total=2, value=0.5),
]


def test_every_chart_has_its_table_with_the_same_figures() -> None:
    charts = charts_of(FIGURES)
    tables = tables_of(charts)
    assert tables["releases"] == [["2026-12, DMI", "3", "1"]]
    assert tables["readiness"] == [["GP registration", "2026-12, DMI", "2", "3", "67%"]]
    assert tables["answers"] == [
        ["GP practices", "2026-12, DMI", "2", "1.5", "3.0"],
        ["RECONNECT", "2026-12, DMI", "1", "3.0", "3.0"],
    ]
    assert tables["rejections"] == [["CMHT-DUR", "criteria not met", "2026-12, DMI", "1"]]
    assert tables["routing"] == [
        ["CMHT-DUR", "Re-routed", "2026-12, DMI", "1"],
        ["RECONNECT-DUR", "Escalated", "2026-12, DMI", "1"],
    ]
    assert tables["attended"] == [["CMHT-DUR", "2026-12, DMI", "1", "2", "50%"]]


def test_bars_are_shares_or_scaled_to_the_longest_time() -> None:
    charts = charts_of(FIGURES)
    assert [row["percent"] for row in charts["readiness"]] == [67]
    assert [row["percent"] for row in charts["answers"]] == [50, 100]  # 1.5 h and 3 h against the longest 90th, 3 h
    assert charts["readiness"][0]["text"] == "67% (2 of 3)"


def test_an_empty_report_has_empty_charts() -> None:
    assert all(rows == [] for rows in tables_of(charts_of([])).values())
