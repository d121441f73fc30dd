"""`ttg users`: create prints a first password once, list never shows a secret, reset and disable act at once."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ttg.cli import app

runner = CliRunner()


def users(database: str, *args: str) -> str:
    result = runner.invoke(app, ["users", *args, "--database-url", database])
    assert result.exit_code == 0, result.output
    return result.output


def test_create_list_reset_disable(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'console.db'}"
    created = users(
        database,
        "create",
        "hc.jones",
        "--name",
        "Sam Jones",
        "--email",
        "s@example.org",
        "--organisation",
        "DMI-HC",
        "--role",
        "prison_healthcare",
        "--establishment",
        "DMI",
    )
    password = created.rsplit(": ", 1)[1].strip()
    assert len(password) >= 12
    listed = users(database, "list")
    assert "hc.jones" in listed and "not enrolled" in listed and "active" in listed and password not in listed
    assert password not in users(database, "reset", "hc.jones")
    assert "disabled" in users(database, "disable", "hc.jones") + users(database, "list")
    refused = runner.invoke(
        app,
        [
            "users",
            "create",
            "gp.x",
            "--name",
            "X",
            "--email",
            "x@example.org",
            "--organisation",
            "A99001",
            "--role",
            "agency",
            "--establishment",
            "DMI",
            "--database-url",
            database,
        ],
    )
    assert refused.exit_code == 2 and "Refused" in refused.output
    code = runner.invoke(app, ["users", "code", "hc.jones", "--database-url", database])
    assert code.exit_code == 2  # only demo personas' codes are ever shown
