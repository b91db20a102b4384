"""`choreo demo` opens the dashboard on its store; with --keep-running the
dashboard follows the still-running services live."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from choreo.cli.commands.demo import LiveUpdate, dashboard_app
from choreo.core.store import Store
from choreo.demo.faults import NO_FAULTS
from choreo.demo.run import Demo
from choreo.demo.scenario import Scenario
from tests.support.tui_helpers import flat, screen_text, wait_shown, wait_until

pytestmark = pytest.mark.kafka


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    runner = Demo(
        Scenario(seed=4, instances=6, workflows=("signup",), faults=NO_FAULTS), tmp_path / "demo.duckdb"
    )
    runner.run()
    try:
        yield runner
    finally:
        runner.close()


def _instances(text: str) -> int:
    m = re.search(r"([\d,]+) instances", flat(text))
    return int(m.group(1).replace(",", "")) if m else 0


async def test_dashboard_shows_the_demo_store(demo: Demo) -> None:
    demo.close()
    with Store.open(demo.paths.db) as store:
        app = dashboard_app(demo, store)
        async with app.run_test(size=(100, 30)) as pilot:
            text = await wait_shown(pilot, "signup")
            assert _instances(text) == 6


async def test_keep_running_dashboard_follows_new_sagas_live(demo: Demo) -> None:
    demo.keep_running()
    with Store.open(demo.paths.db) as store:
        update = LiveUpdate(demo.config)
        app = dashboard_app(demo, store, live=update)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_shown(pilot, "signup")
            await wait_until(pilot, lambda: _instances(screen_text(app)) > 6, timeout=30, what="new sagas")
            await pilot.press("q")
        with update.lock:  # the last live update is done before the store closes
            pass
