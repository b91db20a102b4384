"""Overview: workflows with instance counts by status, stuck first."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from choreo.tui.app import make_app
from choreo.tui.messages import OpenInstances, OpenModel
from choreo.tui.screens.instances import InstancesScreen
from choreo.tui.screens.model import ModelScreen
from tests.support.saga_builder import T0, Log
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import flat, overview_ready, screen_text, wait_shown, wait_until


async def test_overview_shows_every_workflow_with_counts_by_status(mixed: FixtureStore) -> None:
    truth = mixed.truth["counts"]["outcomes"]
    with mixed.open() as store:
        rows = store.query("SELECT workflow, status, count(*) FROM instances GROUP BY ALL")
        app = make_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_shown(pilot, " instances · ")

            def rows_shown() -> bool:
                lines = [line.strip() for line in screen_text(app).splitlines()]
                return all(any(line.startswith(wf + " ") for line in lines) for wf in truth)

            await wait_until(pilot, rows_shown, what="a row per workflow")
            text = screen_text(app)
            assert f"{sum(r[2] for r in rows):,} instances" in flat(text)
            for wf in truth:
                line = next(line for line in text.splitlines() if line.strip().startswith(wf + " "))
                stuck = truth[wf]["stuck"]
                # Status counts are text in the row; a non-zero stuck count is marked with "!".
                assert (f"{stuck:,} !" in line) if stuck else True, line
                assert f"{sum(truth[wf].values()):,}" in line, line
            stuck_total = sum(v["stuck"] for v in truth.values())
            assert f"{stuck_total} stuck" in flat(text)
            assert "! stuck instance" in text  # the most overdue are listed on the overview


async def test_enter_opens_the_workflows_instances_and_m_its_model(mixed: FixtureStore) -> None:
    posted: list[Message] = []
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(message_hook=posted.append) as pilot:
            await overview_ready(pilot)
            await pilot.press("enter")
            await wait_shown(pilot, "sorted by started")
            opened = [m for m in posted if isinstance(m, OpenInstances)]
            assert opened and opened[-1].query.workflow is not None
            assert isinstance(app.screen, InstancesScreen)
            assert app.screen.query_state.workflow == opened[-1].query.workflow
            await pilot.press("escape")
            await overview_ready(pilot)
            await pilot.press("m")
            await wait_shown(pilot, "Directly-follows edges:")
            assert isinstance(app.screen, ModelScreen)
            assert any(isinstance(m, OpenModel) for m in posted)


async def test_a_store_where_almost_nothing_links_says_so_in_the_store_bar(tmp_path: Path) -> None:
    log = Log()
    for i in range(30):  # each event carries only its own request id: nothing links
        log.event("requests", "Served", T0 + i, service="api", requestId=f"r-{i}")
    db = log.store(tmp_path / "s.duckdb")
    with Store.open(db) as store:
        rebuild(store, now_ms=T0 + 60_000)
        app = make_app(store)
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_shown(pilot, " instances · ")
            await overview_ready(pilot)
            # The store bar is drawn again once the overview is in: under load, a moment after its rows.
            await wait_shown(pilot, "only 0% of events stitched")
