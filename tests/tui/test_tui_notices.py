"""The dashboard explains, on screen, why it cannot show anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from choreo.cli.commands.tui import open_for_tui
from choreo.core.store import Store
from choreo.tui.app import make_app
from tests.support.tui_helpers import wait_shown


async def test_missing_store_is_explained_not_created(tmp_path: Path) -> None:
    db = tmp_path / "nope.duckdb"
    store, problem = open_for_tui(db, read_only=False)
    assert store is None and problem is not None
    app = make_app(None, problem=problem)
    async with app.run_test() as pilot:
        text = await wait_shown(pilot, "does not exist")
        assert "Cannot open the store" in text
        await pilot.press("q")
    assert not db.exists()


async def test_locked_store_is_explained(db_path: Path) -> None:
    Store.open(db_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys; c=duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
            str(db_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        store, problem = open_for_tui(db_path, read_only=True)
        assert store is None and problem is not None
        app = make_app(None, problem=problem)
        async with app.run_test() as pilot:
            text = await wait_shown(pilot, "in use by another process")
            assert "Cannot open the store" in text
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


async def test_empty_store_is_explained(db_path: Path) -> None:
    with Store.open(db_path) as store:
        app = make_app(store)
        async with app.run_test() as pilot:
            text = await wait_shown(pilot, "holds no events yet")
            assert "Empty store" in text
            assert "choreo collect" in text


async def test_too_small_terminal_is_explained_and_recovers(db_path: Path) -> None:
    with Store.open(db_path) as store:
        app = make_app(store)
        async with app.run_test(size=(60, 20)) as pilot:
            text = await wait_shown(pilot, "needs at least 80x24")
            assert "60x20" in text
            await pilot.resize_terminal(100, 30)
            await wait_shown(pilot, "holds no events yet")


async def test_a_store_opened_in_a_small_terminal_shows_once_it_grows(db_path: Path) -> None:
    from tests.support.tui_fixtures import build_fixture_store
    from tests.support.tui_helpers import overview_ready

    fx = build_fixture_store("orders-clean", db_path.parent)
    with fx.open() as store:
        app = make_app(store)
        async with app.run_test(size=(70, 20)) as pilot:
            await wait_shown(pilot, "needs at least 80x24")
            await pilot.resize_terminal(100, 30)
            await overview_ready(pilot)
            # Esc on the overview goes nowhere: the message is gone from the stack.
            await pilot.press("escape")
            await overview_ready(pilot)
