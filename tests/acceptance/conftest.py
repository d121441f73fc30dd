"""Fixtures shared by acceptance modules (each module starts its own system: ``tests/conftest.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import BACKENDS, require_backend
from tests.support.console_pages import CHROMIUM, CHROMIUM_ARGS, PEOPLE, Console
from tests.support.journeys import Journey, both_journeys
from tests.support.system import RunningSystem, start_system, stop_system
from ttg.personas import provision_personas


@pytest.fixture(scope="module")
def journeys(system: RunningSystem) -> dict[str, Journey]:
    """One release from Durham prison (DMI) and one from Birmingham (BMI), each delivered to its agencies, on the
    module's system."""
    return both_journeys(system)


@pytest.fixture(scope="module", params=BACKENDS)
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    backend: str = request.param
    require_backend(backend)
    tmp = tmp_path_factory.mktemp(f"console-{backend}")
    clock_file = tmp / "console-clock"
    extra_env = {
        "TTG_CONSOLE_TEST_CLOCK": "1",
        "TTG_CONSOLE_TEST_CLOCK_FILE": str(clock_file),
        # Two delivery rounds then dead-lettered, on a clock the test moves: an operator has something to replay.
        "TTG_NOTIFIER_TEST_CLOCK": "1",
        "TTG_NOTIFIER_TEST_CLOCK_FILE": str(tmp / "notifier-clock"),
        "TTG_NOTIFIER_RETRY_SCHEDULE_SECONDS": json.dumps([0, 60]),
        "TTG_NOTIFIER_DISPATCH_IDLE_SECONDS": "0.2",
    }
    running = start_system(tmp, backend, console=True, extra_env=extra_env)
    try:
        people = {
            made.persona.user_id: made for made in provision_personas(running.stack.database_url("console"), PEOPLE)
        }
        yield Console(running, running.stack.url("console"), people, clock_file, backend, tmp / "notifier-clock")
    finally:
        stop_system(running)


@pytest.fixture(scope="module")
def browser(console: Console) -> Iterator[Browser]:
    """Chromium for one system: started after it and stopped before it, because Playwright's synchronous API
    keeps an event loop running while the browser lives, and starting a system runs its own (asyncio.run)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
