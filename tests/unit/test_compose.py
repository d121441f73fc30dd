"""docker-compose.yml scales as the README says (``--scale handover=2 --scale notifier=2``): a scaled service
publishes no fixed host port (two replicas would clash on it), and every TTG_* variable it sets is one the code
reads, so a renamed setting cannot leave the distributed set-up silently on a default."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ttg.config_reference import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCALED = ("handover", "notifier")
REACHED_BY_PEOPLE = {"console": 8000, "release_events": 8001, "demo_receiver": 8009}


def services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE.read_text())
    found: dict[str, dict[str, Any]] = document["services"]
    return found


def host_port(mapping: str | int | dict[str, Any]) -> str | None:
    """The fixed host port of one ``ports`` entry, or None when Docker picks a free one."""
    if isinstance(mapping, dict):
        published = mapping.get("published")
        return None if published in (None, "") else str(published)
    parts = str(mapping).split(":")
    return parts[-2] or None if len(parts) > 1 else None


def settings_variables() -> set[str]:
    return {
        f"{settings.model_config.get('env_prefix', '')}{name.upper()}"
        for settings in SETTINGS.values()
        for name in settings.model_fields
    }


def read_by_the_code(variable: str) -> bool:
    """Variables outside the settings classes (the demo receiver's, the demo directory's placeholders)."""
    sources = [*ROOT.glob("services/**/*.py"), *ROOT.glob("ttg/**/*.py"), *ROOT.glob("deploy/**/*.yaml")]
    return any(variable in path.read_text() for path in sources)


@pytest.mark.parametrize("service", SCALED)
def test_a_scaled_service_publishes_no_fixed_host_port(service: str) -> None:
    ports = services()[service].get("ports", [])
    assert "container_name" not in services()[service]
    assert [host_port(mapping) for mapping in ports] == [None] * len(ports)


def test_what_people_open_keeps_the_port_the_readme_documents() -> None:
    found = services()
    for service, port in REACHED_BY_PEOPLE.items():
        assert [host_port(mapping) for mapping in found[service]["ports"]] == [str(port)], service
    assert f"127.0.0.1:{REACHED_BY_PEOPLE['console']}" in (ROOT / "README.md").read_text()


def test_every_variable_a_service_is_given_is_read_by_the_code() -> None:
    known = settings_variables()
    unknown = [
        f"{service}: {variable}"
        for service, spec in services().items()
        for variable in (spec.get("environment") or {})
        if variable.startswith("TTG_") and variable not in known and not read_by_the_code(variable)
    ]
    assert unknown == []


def compose_command() -> list[str] | None:
    """``docker compose`` (v2 plugin) or ``docker-compose`` (v1), whichever this machine has; both check the
    file without a daemon."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_file() -> None:
    command = compose_command()
    if command is None:
        if os.environ.get("TTG_REQUIRE_COMPOSE"):  # CI installs docker-compose (.ci/run): there it must run
            pytest.fail("neither `docker compose` nor `docker-compose` is installed")
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
