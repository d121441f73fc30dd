"""The code keeps the one shape ARCHITECTURE.md describes: small modules, thin route handlers, pure rules in
``domain/``, and a unit-test file for every use-case module. Read from the sources, so a change that breaks the
shape fails here rather than in a review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "ttg", "contracts")
SERVICES = ("release_events", "handover", "notifier", "console")
MAX_MODULE_LINES = 300
MAX_HANDLER_LINES = 30
ROUTE_DECORATORS = (".get", ".post", ".put", ".delete", ".patch")
# What a pure rule never touches: storage, the network, the broker; nor does it read the clock or make random ids
# (uuid5, a name-based id, is a pure function and allowed).
IMPURE_IMPORTS = ("sqlalchemy", "sqlmodel", "httpx", "aiokafka", "fastapi", "services.common.db")
IMPURE_CALLS = ("uuid4", "uuid1", "now", "utcnow", "today", "time.time", "random")


def modules() -> list[Path]:
    return sorted(
        path for package in PACKAGES for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts
    )


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_module_is_over_300_lines() -> None:
    long = {name(path): n for path in modules() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def route_handlers(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(ast.unparse(d).split("(")[0].endswith(ROUTE_DECORATORS) for d in node.decorator_list)
    ]


def test_no_route_handler_is_over_30_lines() -> None:
    found = 0
    long: dict[str, int] = {}
    for path in modules():
        for handler in route_handlers(ast.parse(path.read_text())):
            found += 1
            lines = (handler.end_lineno or handler.lineno) - handler.lineno + 1  # from `def` to its last line
            if lines > MAX_HANDLER_LINES:
                long[f"{name(path)}:{handler.name}"] = lines
    assert found > 50, "the check found too few route handlers to be looking in the right place"
    assert long == {}


def impure_calls(tree: ast.Module) -> set[str]:
    calls = (ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call))
    return {call for call in calls if call.split(".")[-1] in IMPURE_CALLS or call.startswith(("random.", "time."))}


def imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_domain_rules_touch_no_storage_network_clock_or_random_ids(service: str) -> None:
    impure: dict[str, list[str]] = {}
    for path in sorted((ROOT / "services" / service / "domain").glob("*.py")):
        tree = ast.parse(path.read_text())
        names = imported(tree)
        bad = sorted(n for n in names if n.startswith(IMPURE_IMPORTS) or ".adapters" in n or ".usecases" in n)
        bad += sorted(impure_calls(tree))
        if bad:
            impure[name(path)] = bad
    assert impure == {}


@pytest.mark.parametrize("service", SERVICES)
def test_every_use_case_module_has_a_unit_test_file(service: str) -> None:
    use_cases = [
        path.stem
        for path in sorted((ROOT / "services" / service / "usecases").glob("*.py"))
        if path.stem not in ("__init__", "ports")
    ]
    assert use_cases, f"{service} has no use cases"
    tests = ROOT / "tests" / "unit" / service / "usecases"
    assert [stem for stem in use_cases if not (tests / f"test_{stem}.py").exists()] == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_folders(service: str) -> None:
    folder = ROOT / "services" / service
    assert [part for part in ("domain", "usecases", "adapters", "entrypoints") if not (folder / part).is_dir()] == []
    assert (folder / "wiring.py").is_file() and (folder / "settings.py").is_file()
