"""The hazard log stays honest: every field present, the tests it names are exactly the tests marked with the
hazard, and the plugin (``tests/hazards.py``) fails a whole-suite run in which a hazard's tests did not pass."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from tests.hazards import read_log

ROOT = Path(__file__).resolve().parents[3]
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
FIELDS = ("Cause", "Effect", "Severity", "Likelihood", "Risk rating", "Control", "Test")


def hazards() -> dict[str, str]:
    return read_log(LOG)


def named_in_log() -> dict[str, set[str]]:
    named: dict[str, set[str]] = {}
    for hazard_id, text in hazards().items():
        line = next(line for line in text.splitlines() if line.startswith("- **Test**"))
        named[hazard_id] = set(re.findall(r"`([^`]+::[^`]+)`", line))
    return named


def _hazard_ids(decorator: ast.expr) -> list[str]:
    """The ids of ``@pytest.mark.hazard("H01", ...)``; nothing for any other decorator."""
    if not isinstance(decorator, ast.Call):
        return []
    func = decorator.func
    if not (isinstance(func, ast.Attribute) and func.attr == "hazard" and ast.unparse(func.value) == "pytest.mark"):
        return []
    ids = [arg.value for arg in decorator.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    assert len(ids) == len(decorator.args), f"hazard marker with a non-literal id: {ast.unparse(decorator)}"
    return ids


def marked_in_tests() -> dict[str, set[str]]:
    """hazard id -> ``path::test_name`` of every test function marked with it, read from the sources."""
    marked: dict[str, set[str]] = defaultdict(set)
    for source in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        path = source.relative_to(ROOT).as_posix()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for hazard_id in {h for d in node.decorator_list for h in _hazard_ids(d)}:
                    marked[hazard_id].add(f"{path}::{node.name}")
            elif isinstance(node, ast.ClassDef):  # a class's marker marks each of its tests
                on_class = {h for d in node.decorator_list for h in _hazard_ids(d)}
                for method in node.body:
                    if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef) and method.name.startswith("test"):
                        for hazard_id in on_class | {h for d in method.decorator_list for h in _hazard_ids(d)}:
                            marked[hazard_id].add(f"{path}::{node.name}::{method.name}")
    return marked


def test_every_hazard_has_every_field() -> None:
    found = hazards()
    assert len(found) >= 15
    for hazard_id, text in found.items():
        for name in FIELDS:
            assert re.search(rf"^- \*\*{name}\*\*: \S", text, re.MULTILINE), f"{hazard_id} has no {name}"


@pytest.mark.hazard("H56")
def test_the_tests_a_hazard_names_are_exactly_the_tests_marked_with_it() -> None:
    named, marked = named_in_log(), marked_in_tests()
    assert set(marked) <= set(named), f"markers name hazards not in the log: {sorted(set(marked) - set(named))}"
    for hazard_id, tests in named.items():
        assert tests, f"{hazard_id} names no test"
        assert tests - marked.get(hazard_id, set()) == set(), f"{hazard_id}: named but not marked"
        assert marked.get(hazard_id, set()) - tests == set(), f"{hazard_id}: marked but not named in the log"


# --- the plugin, on a small suite of its own ---------------------------------------------------------------

SUITE_LOG = """# Hazard log

## H01: One

- **Test**: `tests/test_a.py::test_one`

## H02: Two

- **Test**: `tests/test_a.py::test_two`
"""


def _suite(pytester: pytest.Pytester, tests: str, log: str = SUITE_LOG) -> None:
    pytester.makefile(".md", **{"docs/clinical-safety/hazard-log": log})
    pytester.makeini(
        "[pytest]\ntestpaths = tests\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    hazard(*ids): hazard\n"
    )
    (pytester.path / "tests").mkdir(exist_ok=True)
    (pytester.path / "tests" / "test_a.py").write_text("import pytest\n\n" + tests)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "tests.hazards", *args)


@pytest.fixture
def importable(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return pytester


def test_the_plugin_passes_a_whole_run_in_which_every_hazards_tests_passed(importable: pytest.Pytester) -> None:
    _suite(
        importable,
        '@pytest.mark.hazard("H01")\ndef test_one(): pass\n\n@pytest.mark.hazard("H02")\ndef test_two(): pass\n',
    )
    result = _run(importable)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*every hazard's tests ran and passed (2)*"])


@pytest.mark.hazard("H56")
def test_the_plugin_fails_a_passing_run_that_leaves_a_hazard_unshown(importable: pytest.Pytester) -> None:
    _suite(
        importable,
        '@pytest.mark.hazard("H01")\ndef test_one(): pass\n\n'
        '@pytest.mark.hazard("H09")\ndef test_two(): pass\n\n'
        '@pytest.mark.hazard("H01")\ndef test_three(): pytest.skip("no database")\n',
    )
    result = _run(importable)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*H09 is not in the hazard log, but marks tests/test_a.py::test_two*",
            "*H01: tests/test_a.py::test_three skipped*",
            "*H02 has no test marked*",
        ]
    )


@pytest.mark.hazard("H56")
def test_a_skip_counts_only_when_the_hazard_says_why(importable: pytest.Pytester) -> None:
    log = SUITE_LOG.replace("## H02: Two\n", "## H02: Two\n\n- **Skip**: needs a device only CI has\n")
    _suite(
        importable,
        '@pytest.mark.hazard("H01")\ndef test_one(): pass\n\n'
        '@pytest.mark.hazard("H02")\ndef test_two(): pytest.skip("no device")\n',
        log,
    )
    assert _run(importable).ret == 0


@pytest.mark.hazard("H56")
def test_a_failed_marked_test_is_named_and_a_partial_run_is_not_judged(importable: pytest.Pytester) -> None:
    _suite(
        importable,
        '@pytest.mark.hazard("H01")\ndef test_one(): pass\n\n'
        '@pytest.mark.hazard("H02")\ndef test_two(): assert False\n',
    )
    result = _run(importable, "-k", "test_one")
    assert result.ret == 0  # -k: part of the suite, nothing to judge
    result = _run(importable, "tests/test_a.py::test_one", "--hazard-check=always")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*H02 has no test marked*"])  # not collected, so not known
    result = _run(importable)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*H02: tests/test_a.py::test_two failed*"])


@pytest.mark.hazard("H56")
def test_the_plugin_judges_a_run_spread_over_xdist_workers(importable: pytest.Pytester) -> None:
    _suite(
        importable,
        '@pytest.mark.hazard("H01")\ndef test_one(): pass\n\n'
        '@pytest.mark.hazard("H02")\ndef test_two(): assert False\n\n'
        "def test_three(): pass\n",
    )
    result = importable.runpytest_subprocess("-p", "tests.hazards", "-n", "2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*H02: tests/test_a.py::test_two failed*"])
    _suite(
        importable,
        '@pytest.mark.hazard("H01")\ndef test_one(): pass\n\n@pytest.mark.hazard("H02")\ndef test_two(): pass\n',
    )
    result = importable.runpytest_subprocess("-p", "tests.hazards", "-n", "2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*every hazard's tests ran and passed (2)*"])
