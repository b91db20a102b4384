"""Save the README's dashboard screenshots (SVG, as Textual renders them).

    .venv/bin/choreo demo --no-tui                      # writes demo.duckdb
    .venv/bin/python scripts/tui_screenshots.py demo.duckdb docs

Writes docs/tui-overview.svg (the overview), docs/tui-stuck.svg (the stuck
sagas grouped by cause, the biggest cause selected) and docs/tui-detail.svg
(the most overdue saga stuck after a stock-out, its last event selected).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from choreo.core.store import Store
from choreo.tui.app import make_app
from choreo.tui.messages import OpenInstance, OpenStuck
from choreo.tui.screens.detail import DetailScreen
from choreo.tui.screens.overview import OverviewScreen
from choreo.tui.screens.stuck import StuckScreen
from choreo.tui.widgets.detail.events import EventsTable
from choreo.tui.widgets.overview.workflows import WorkflowTable

SIZE = (120, 36)


async def shoot(db: Path, out: Path) -> None:
    with Store.open(db, read_only=True) as store:
        (instance_id,) = store.query(
            "SELECT instance_id FROM stuck WHERE last_service LIKE 'inventory%' "
            "ORDER BY overdue_ms DESC NULLS LAST, instance_id LIMIT 1"
        )[0]
        app = make_app(store, store_label=db.name)
        async with app.run_test(size=SIZE) as pilot:

            async def until(check: object) -> None:
                while not check():  # type: ignore[operator]
                    await pilot.pause(0.05)
                await pilot.pause(0.2)

            def overview_shown() -> bool:
                screen = app.screen
                return isinstance(screen, OverviewScreen) and screen.query_one(WorkflowTable).row_count > 0

            await until(overview_shown)
            print(app.save_screenshot("tui-overview.svg", str(out)))
            app.post_message(OpenStuck())
            await until(lambda: isinstance(app.screen, StuckScreen) and app.screen.page is not None)
            await pilot.press("down")  # the biggest cause
            await until(lambda: isinstance(app.screen, StuckScreen) and app.screen.query_state.cause)
            await pilot.pause(0.5)
            print(app.save_screenshot("tui-stuck.svg", str(out)))
            await pilot.press("escape")
            app.post_message(OpenInstance(str(instance_id)))
            await until(lambda: isinstance(app.screen, DetailScreen) and app.screen.view is not None)
            table = app.screen.query_one(EventsTable)
            table.move_cursor(row=table.row_count - 1)
            await pilot.pause(0.3)
            print(app.save_screenshot("tui-detail.svg", str(out)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(args.db, args.out))


if __name__ == "__main__":
    main()
