"""Live updates never move the cursor to another saga: rows arriving above the
selection scroll with it, and a selected saga that leaves the list stays,
marked, until the cursor leaves it."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from choreo.core.progress import CollectProgress
from choreo.core.store import Store
from choreo.tui.app import make_app
from choreo.tui.screens.overview import OverviewScreen
from choreo.tui.widgets.common.table import GONE
from choreo.tui.widgets.stuck.tables import StuckTable
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, screen_text, wait_until


class ScriptedLive:
    """A LiveSource whose updates are changes the test makes to the store."""

    source = "scripted"
    progress: CollectProgress | None = None
    note: str | None = None
    running = True

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[Callable[[Store], None]] = []
        self.applied = 0
        self._lock = threading.Lock()

    def collect(self, stop: threading.Event) -> None:
        stop.wait()

    def update(self) -> bool:
        with self._lock:
            if not self.pending:
                return False
            change = self.pending.pop(0)
            own = self.store.cursor()
            try:
                change(own)
            finally:
                own.close()
            self.applied += 1
            return True


def _line_of(table: StuckTable) -> int:
    """The selected row's line within the table's view."""
    return table.cursor_row - round(table.scroll_y)


async def test_selection_stays_on_its_saga_under_live_updates(mixed: FixtureStore, tmp_path: Path) -> None:
    path = tmp_path / "live.duckdb"
    shutil.copy(mixed.path, path)
    with Store.open(path) as store:
        live = ScriptedLive(store)
        app = make_app(store, live=live)
        # Short enough that the stuck list scrolls.
        async with app.run_test(size=(80, 24)) as pilot:
            await overview_ready(pilot)
            screen = app.screen
            assert isinstance(screen, OverviewScreen)
            table = screen.query_one(StuckTable)
            await wait_until(pilot, lambda: table.row_count > 12, what="the stuck list")
            assert table.max_scroll_y >= 3
            table.focus()
            await pilot.press(*["down"] * 7)
            chosen = table.selected_key()
            assert chosen is not None and table.cursor_row == 7
            line = _line_of(table)

            # Three other sagas become the most overdue: they sort above the selection.
            others = [
                str(r[0]) for r in store.query("SELECT instance_id FROM stuck ORDER BY overdue_ms LIMIT 3")
            ]
            assert chosen not in others

            def overdue_more(s: Store) -> None:
                s.con.execute(
                    "UPDATE stuck SET overdue_ms = overdue_ms + 86400000 WHERE list_contains(?, instance_id)",
                    [others],
                )

            live.pending.append(overdue_more)
            await wait_until(
                pilot,
                lambda: table.row_data(others[0]) is not None and live.applied == 1,
                what="the update shown",
            )
            await wait_until(
                pilot,
                lambda: table.selected_key() == chosen and table.cursor_row == 10 and _line_of(table) == line,
                what="the selection moved down with its saga, the view scrolled with it",
                timeout=10,
            )

            # The selected saga is resolved: it leaves the stuck list but keeps the cursor.
            def resolve(s: Store) -> None:
                s.con.execute("DELETE FROM stuck WHERE instance_id = ?", [chosen])

            live.pending.append(resolve)
            await wait_until(
                pilot,
                lambda: live.applied == 2 and table.row_data(chosen) is None,
                what="the saga gone from the list",
            )
            await wait_until(pilot, lambda: GONE in screen_text(app), what="the kept row")
            assert table.selected_key() == chosen
            await pilot.press("down")
            # Once the cursor leaves it, the next update drops it.
            live.pending.append(lambda s: None)
            await wait_until(pilot, lambda: live.applied == 3, what="another update")
            await wait_until(pilot, lambda: GONE not in screen_text(app), what="the row dropped")
            assert table.selected_key() != chosen
            await pilot.press("q")
