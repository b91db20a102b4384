"""The small things an on-call engineer trips over: values never counted
above their events, each identifier name once, exports that take --config
and say where they wrote (absolute), m on a list of all workflows, a search
box that says what the rows show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from choreo.tui.app import make_app
from choreo.tui.data.export import export_workflow_diagram
from choreo.tui.screens.instances import InstancesScreen
from choreo.tui.screens.model import ModelScreen
from tests.support.collect_helpers import run_main
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, screen_text, wait_until

CONFIG = str(Path(__file__).resolve().parents[2] / "fixtures" / "mixed" / "choreo.toml")


def test_keys_count_values_exactly_never_above_events(
    mixed: FixtureStore, capsys: Any, tmp_path: Path
) -> None:
    db = tmp_path / "copy.duckdb"
    db.write_bytes(mixed.path.read_bytes())
    r = run_main(capsys, "keys", "--db", str(db), "--config", CONFIG, "--json")
    assert r.returncode == 0, r.stderr
    stats = orjson.loads(r.stdout)
    with mixed.open() as store:
        exact = dict(store.query("SELECT name, count(DISTINCT value) FROM identifiers GROUP BY 1"))
    compared = 0
    for s in stats:
        assert s["distinct_values"] <= s["events"], s
        if s["name"] in exact and s["namespace"] in (None, s["name"]):
            # Duplicated events carry no other values: the distinct count is the exact one.
            # (Record keys are judged per topic, key@<topic>, and numbers read as
            # another name's are counted in its namespace: not comparable here.)
            assert s["distinct_values"] == exact[s["name"]], s["name"]
            compared += 1
    assert compared >= 5


def test_show_names_each_identifier_once(mixed: FixtureStore, capsys: Any, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    db.write_bytes(mixed.path.read_bytes())
    with mixed.open() as store:
        (label,) = store.query(
            "SELECT label FROM instances WHERE workflow = 'order' AND n_events >= 4 ORDER BY label LIMIT 1"
        )[0]
    r = run_main(capsys, "show", label.split("=", 1)[1], "--db", str(db), "--config", CONFIG)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("identifiers: "))
    names = [part.split("=", 1)[0] for part in line.removeprefix("identifiers: ").split("; ")]
    assert names == sorted(set(names)) and "key" in names


def test_export_events_takes_config_and_says_where_it_wrote(
    mixed: FixtureStore, capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = run_main(capsys, "export", "events", "--db", str(mixed.path), "--config", CONFIG, "-o", "out.jsonl")
    assert r.returncode == 0, r.stderr
    assert f"to {tmp_path.resolve() / 'out.jsonl'}" in r.stderr


async def test_m_on_all_workflows_and_the_search_box(mixed: FixtureStore, tmp_path: Path) -> None:
    with mixed.open() as store:
        app = make_app(store, export_workflow=export_workflow_diagram, export_dir=Path())
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, InstancesScreen), what="all instances")
            screen = app.screen
            assert isinstance(screen, InstancesScreen)
            await wait_until(pilot, lambda: screen.page is not None and screen.page.rows != (), what="a page")
            assert screen.page is not None
            selected = screen.page.rows[0]
            # Typed, then Esc: the rows follow the box, not the box the rows.
            await pilot.press("slash", *selected.label.split("=", 1)[1][:8], "escape")
            await wait_until(
                pilot,
                lambda: screen.page is not None and screen.page.query.search == screen.query_state.search,
                what="the typed filter applied",
            )
            assert screen.query_one("#search").value == screen.query_state.search  # type: ignore[attr-defined]
            # m on the list of all workflows: the selected instance's workflow.
            await pilot.press("m")
            await wait_until(pilot, lambda: isinstance(app.screen, ModelScreen), what="the model")
            model = app.screen
            assert isinstance(model, ModelScreen) and model.workflow == screen.page.rows[0].workflow
            assert f"to {Path().resolve()}" in screen_text(app)
