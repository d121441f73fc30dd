"""``ttg report outcomes``: the outcomes dataset from handover, as a table or CSV.

    ttg report outcomes [--from 2026-01] [--to 2026-12] [--establishment DMI] [--agency CMHT-DUR] [--csv]

It reads ``GET /v1/reports/outcomes`` with an operator's API key (``--api-key`` or ``TTG_OPERATOR_API_KEY``, else
the demo operator's key that ``ttg up`` wrote); the service decides what that key may see.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ttg.operator_calls import ApiKey, call_as_operator

report_app = typer.Typer(help="Reports: the outcomes dataset", no_args_is_help=True)
HandoverUrl = Annotated[str, typer.Option(envvar="TTG_HANDOVER_URL", help="Base URL of handover")]
HEADINGS = ("month", "establishment", "agency_kind", "agency", "measure", "key", "count", "total", "value")


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


def table(figures: list[dict[str, Any]]) -> str:
    """Aligned columns, one figure a line (blank where a figure has no such part)."""
    cells = [list(HEADINGS)] + [["" if f[h] is None else str(f[h]) for h in HEADINGS] for f in figures]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADINGS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells
    )


@report_app.command("outcomes")
def outcomes(
    handover_url: HandoverUrl = "http://127.0.0.1:8002",
    api_key: ApiKey = None,
    first: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM (default: --to)")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM (default: this month)")] = None,
    establishment: Annotated[str | None, typer.Option(help="Only this establishment")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's referrals")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table")] = False,
) -> None:
    """Readiness before release, answer times, rejections, re-routes, escalations and attendance by month."""
    wanted = {"from": first, "to": last, "establishment": establishment, "agency": agency}
    params = {name: value for name, value in wanted.items() if value} | ({"format": "csv"} if as_csv else {})
    response = call_as_operator(
        "GET", f"{handover_url}/v1/reports/outcomes", service="handover", api_key=api_key, params=params
    )
    typer.echo(response.text.rstrip("\r\n") if as_csv else table(response.json()["figures"]))
