"""A pytest plugin that holds the hazard log to its word: every hazard's tests ran and passed in this run.

Each test that shows a hazard's control works carries ``@pytest.mark.hazard("Hxx", ...)``. The plugin records
the outcome of every marked test and, at the end of a run of the whole suite, fails the run (exit status 1 and
a message naming each problem) when

* a hazard of ``docs/clinical-safety/hazard-log.md`` has no marked test,
* a marked test of a hazard failed, errored, was skipped or did not run (a skip is accepted only when the
  hazard's section has a ``- **Skip**: <why>`` line), or
* a marker names a hazard that the log does not have.

A run of part of the suite (paths or node ids other than the test root, ``-k``, ``-m``, ``--lf``, deselected
items) cannot tell, so it is checked only with ``--hazard-check=always``; ``--hazard-check=never`` turns the
check off. The names in the log's "Test" lines are kept equal to the markers by
``tests/unit/security/test_hazard_log.py``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MARKER = "hazard"
WORKER_OUTPUT = "ttg_hazards"
DEFAULT_LOG = Path("docs/clinical-safety/hazard-log.md")
_RANK = {"passed": 0, "skipped": 1, "failed": 2}  # worse outcomes win; an error in setup or teardown ranks 3


def read_log(path: Path) -> dict[str, str]:
    """Each hazard's section of the log, by id."""
    sections = re.split(r"^## (?=H\d+:)", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    return {section.split(":", 1)[0]: section for section in sections}


def skip_allowed(section: str) -> bool:
    return re.search(r"^- \*\*Skip\*\*: \S", section, re.MULTILINE) is not None


def marked_hazards(item: pytest.Item) -> list[str]:
    return [str(hazard) for mark in item.iter_markers(MARKER) for hazard in mark.args]


@dataclass
class HazardRun:
    """What this run saw of each hazard: the outcome of every marked test item."""

    outcomes: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    marked: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def problems(self, log: dict[str, str]) -> list[str]:
        found: list[str] = []
        for hazard in sorted(set(self.marked) - set(log)):
            found.append(f"{hazard} is not in the hazard log, but marks {', '.join(sorted(self.marked[hazard]))}")
        for hazard, section in sorted(log.items()):
            if not self.marked.get(hazard):
                found.append(f"{hazard} has no test marked @pytest.mark.hazard({hazard!r}) in this run")
                continue
            for nodeid in self.marked[hazard]:
                outcome = self.outcomes[hazard].get(nodeid, "not run")
                if outcome == "passed" or (outcome == "skipped" and skip_allowed(section)):
                    continue
                found.append(f"{hazard}: {nodeid} {outcome}")
        return found


class HazardPlugin:
    """Collects which tests mark which hazards and how every test ended; checks the log at the end of the session.

    Under pytest-xdist the workers collect and the controller only sees reports: each worker hands its map of
    marked tests (and how many it deselected) to the controller through ``workeroutput``, and the controller
    checks once every worker is down."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run = HazardRun()
        self.deselected = 0
        self.hazards_of: dict[str, set[str]] = defaultdict(set)
        self.outcome_of: dict[str, str] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for hazard in marked_hazards(item):
                self.hazards_of[item.nodeid].add(hazard)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            outcome = "failed" if report.when == "call" else f"errored in {report.when}"
        elif report.skipped:
            outcome = "skipped"
        elif report.when == "call":
            outcome = "passed"
        else:
            return
        if _RANK.get(outcome, 3) > _RANK.get(self.outcome_of.get(report.nodeid, ""), -1):
            self.outcome_of[report.nodeid] = outcome

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: object, error: object) -> None:
        """A pytest-xdist worker finished: take its map of marked tests."""
        output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
        if output is None:
            return
        for nodeid, hazards in output["hazards_of"].items():
            self.hazards_of[nodeid].update(hazards)
        self.deselected = max(self.deselected, output["deselected"])

    def _tally(self) -> None:
        for nodeid, hazards in self.hazards_of.items():
            for hazard in hazards:
                self.run.marked[hazard].append(nodeid)
                if nodeid in self.outcome_of:
                    self.run.outcomes[hazard][nodeid] = self.outcome_of[nodeid]

    def whole_suite(self) -> str | None:
        """None when this run was the whole suite, otherwise why not."""
        option = self.config.option
        if getattr(option, "keyword", ""):
            return "-k was given"
        if getattr(option, "markexpr", ""):
            return "-m was given"
        if getattr(option, "lf", False):
            return "--lf was given"
        if self.deselected:
            return f"{self.deselected} tests were deselected"
        root = Path(self.config.rootpath)
        roots = {root, *(root / p for p in self.config.getini("testpaths"))}
        for arg in self.config.args:
            if "::" in arg or Path(arg).resolve() not in {r.resolve() for r in roots}:
                return f"only {arg} was run"
        return None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        worker_output = getattr(self.config, "workeroutput", None)
        if worker_output is not None:  # a pytest-xdist worker: the controller checks
            hazards_of = {nodeid: sorted(hazards) for nodeid, hazards in self.hazards_of.items()}
            worker_output[WORKER_OUTPUT] = {"hazards_of": hazards_of, "deselected": self.deselected}
            return
        mode = self.config.getoption("hazard_check")
        if mode == "never" or self.config.option.collectonly:
            return
        self._tally()
        partial = self.whole_suite()
        if mode == "auto" and partial is not None:
            return
        log_path = Path(self.config.getoption("hazard_log") or self.config.rootpath / DEFAULT_LOG)
        problems = self.run.problems(read_log(log_path))
        self.problems: list[str] | None = problems
        if problems and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        problems = getattr(self, "problems", None)
        if problems is None:
            return
        if not problems:
            terminalreporter.write_line(f"hazard log: every hazard's tests ran and passed ({len(self.run.marked)})")
            return
        terminalreporter.section("hazard log", sep="=", red=True, bold=True)
        terminalreporter.write_line("The hazard log's controls are not all shown to work in this run:", red=True)
        for problem in problems:
            terminalreporter.write_line(f"  {problem}", red=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hazards", "hazard log")
    group.addoption(
        "--hazard-check",
        choices=("auto", "always", "never"),
        default="auto",
        help="Fail the run when a hazard's tests did not all run and pass: auto = when the whole suite ran",
    )
    group.addoption("--hazard-log", default=None, help=f"The hazard log (default: {DEFAULT_LOG})")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(HazardPlugin(config), "ttg-hazards")
