"""The stuck view: stuck instances grouped by cause (after which step, whose
move, why), opening into each cause's instances; sorting by any column with
the cursor back on top; g/G and Home/End to the first and last row; filter
as you type; and at 80x24 whose move and how overdue are still there."""

from __future__ import annotations

from collections import Counter

from rich.text import Text

from choreo.tui.app import make_app
from choreo.tui.screens.detail import DetailScreen
from choreo.tui.screens.instances import InstancesScreen
from choreo.tui.screens.stuck import StuckScreen
from choreo.tui.widgets.common.table import HIGHLIGHT
from choreo.tui.widgets.instances.table import InstancesTable
from choreo.tui.widgets.stuck.tables import ALL_CAUSES, CausesTable, StuckTable
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, screen_text, wait_shown, wait_until


async def test_stuck_grouped_by_cause_opens_into_its_instances(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        causes = Counter(
            (str(t), str(s), str(r))
            for t, s, r in store.query("SELECT last_type, responsible_service, reason FROM stuck")
        )
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, StuckScreen), what="the stuck view")
            screen = app.screen
            assert isinstance(screen, StuckScreen)
            table = screen.query_one(CausesTable)
            await wait_until(pilot, lambda: table.row_count == len(causes) + 1, what="a row per cause")
            shown = {(c.last_type, c.responsible_service or "", c.reason): c.count for c in screen.causes}
            assert shown == dict(causes)
            biggest = screen.causes[0]
            assert biggest.count == max(causes.values())  # most instances first
            text = screen_text(app)
            for header in ("after", "whose move", "waiting for", "reason", "stuck"):
                assert header in text
            # The first row is every cause; the next is the biggest cause, and its instances follow it.
            assert table.selected_key() == ALL_CAUSES
            await pilot.press("down")
            listed = screen.query_one(StuckTable)
            await wait_until(
                pilot,
                lambda: screen.page is not None and screen.page.total == biggest.count,
                what="the biggest cause's instances",
            )
            page = screen.page
            assert page is not None
            assert all(r.last_type == biggest.last_type and r.reason == biggest.reason for r in page.rows)
            await wait_shown(pilot, f"after {biggest.last_type}")
            await pilot.press("enter")  # into its instances
            assert screen.focused is listed
            await pilot.press("enter")  # the most overdue of them
            await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the instance")
            await wait_shown(pilot, f"Stuck after {biggest.last_type}")


async def test_sort_any_column_cursor_to_top_and_jumps(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, InstancesScreen), what="instances")
            screen = app.screen
            assert isinstance(screen, InstancesScreen)
            table = screen.query_one(InstancesTable)
            await wait_until(pilot, lambda: screen.page is not None and table.row_count == 100, what="a page")
            assert screen.page is not None
            total = screen.page.total
            assert total > 100  # more than one page
            last_page = (total - 1) // 100 * 100

            # G / End: the last row of the last page; g / Home: the first row of the first.
            await pilot.press("G")
            await wait_shown(pilot, f"of {total:,}")
            await wait_until(
                pilot,
                lambda: screen.query_state.offset == last_page and table.cursor_row == table.row_count - 1,
                what="the last row of the last page",
            )
            await pilot.press("home")
            await wait_until(
                pilot,
                lambda: screen.query_state.offset == 0 and table.cursor_row == 0,
                what="the first row of the first page",
            )
            await pilot.press("end")
            await wait_until(pilot, lambda: screen.query_state.offset == last_page, what="End: the last page")
            await pilot.press("g")
            await wait_until(
                pilot, lambda: screen.query_state.offset == 0 and table.cursor_row == 0, what="g"
            )

            # Any column sorts (here by header click); the cursor goes back to the top.
            await pilot.press("down", "down", "down")
            assert table.cursor_row == 3
            for column, key in (("workflow", "workflow"), ("label", "label"), ("status", "status")):
                await pilot.click(InstancesTable, offset=(_header_x(table, column), 0))

                def sorted_by(c: str = column) -> bool:
                    return (
                        screen.page is not None
                        and screen.page.query.sort.value == c
                        and table.cursor_row == 0
                    )

                await wait_until(
                    pilot,
                    sorted_by,
                    what=f"sorted by {column}",
                )
                values = [getattr(r, key) for r in screen.page.rows]
                assert values == sorted(values), column  # text columns: A to Z first
                await pilot.press("down")
            await pilot.press("r")
            await wait_until(
                pilot, lambda: screen.page is not None and screen.page.query.descending, what="Z-A"
            )
            values = [r.status for r in screen.page.rows]
            assert values == sorted(values, reverse=True)


def _header_x(table: InstancesTable | StuckTable, column: str) -> int:
    """The x offset of a column's header within the table."""
    x = 0
    for col in table.ordered_columns:
        if col.key.value == column:
            return x + 1
        x += col.get_render_width(table)
    raise AssertionError(f"no column {column}")


async def test_filter_as_you_type_highlights_the_match(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        label = str(
            store.query("SELECT label FROM instances WHERE status = 'stuck' ORDER BY label LIMIT 1")[0][0]
        )
        part = label.split("=", 1)[1][:7]  # e.g. "ord-9c4": typed, not submitted
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, StuckScreen), what="the stuck view")
            screen = app.screen
            assert isinstance(screen, StuckScreen)
            await pilot.press("slash", *part)
            await wait_until(
                pilot,
                lambda: screen.page is not None and screen.page.query.search == part,
                what="the filter applied while typing",
            )
            assert screen.page is not None and screen.page.rows
            assert all(part in r.label for r in screen.page.rows)
            table = screen.query_one(StuckTable)
            cell = table.get_row_at(0)[0]
            assert isinstance(cell, Text) and any(span.style == HIGHLIGHT for span in cell.spans)
            # Esc leaves the box; the box says what the rows show.
            await pilot.press("escape")
            assert screen.query_state.search == part


async def test_whose_move_and_overdue_stay_at_80x24(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        top = store.query(
            "SELECT s.responsible_service, i.label FROM stuck s JOIN instances i USING (instance_id) "
            "ORDER BY s.overdue_ms DESC NULLS LAST, s.instance_id LIMIT 1"
        )[0]
        app = make_app(store)
        async with app.run_test(size=(80, 24)) as pilot:
            await overview_ready(pilot)
            for where in ("overview", "stuck view"):
                text = await wait_shown(pilot, "! stuck instance")
                header = next(line for line in text.splitlines() if "! stuck instance" in line)
                assert "overdue" in header and "whose move" in header, where
                row = next(line for line in text.splitlines() if top[1] in line)
                assert top[0] in row, f"{where}: the full service name, not cut: {row}"
                footer = [line for line in text.splitlines() if line.strip()][-1]
                assert "? Help" in footer and "q Quit" in footer, footer
                await pilot.press("s")
                await wait_until(pilot, lambda: isinstance(app.screen, StuckScreen), what="the stuck view")
                await pilot.press("tab")  # to the instances, whose first row is the most overdue
