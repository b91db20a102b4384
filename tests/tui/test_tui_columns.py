"""Column layout: at 120 columns the stuck tables show what they show whole
(cut cells only when the terminal is too narrow for the more important
columns beside them, never to squeeze in one more), and a less important
column never takes the room of a more important one. The stuck title fits
80 columns."""

from __future__ import annotations

from choreo.tui.app import make_app
from choreo.tui.screens.overview import stuck_title
from choreo.tui.screens.stuck import StuckScreen
from choreo.tui.widgets.common.table import _PAD, Col, fit_columns
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, wait_shown, wait_until

COLS = (
    Col("id", "id", priority=0, max_width=20),
    Col("next", "waiting for", priority=1, max_width=30, min_width=12),
    Col("after", "after", priority=2, max_width=24, min_width=10),
    Col("wf", "workflow", priority=3, max_width=16),
)
NATURAL = {"id": 20, "next": 21, "after": 20, "wf": 8}


def test_columns_whole_while_they_fit_then_one_cut_then_none() -> None:
    whole = sum(NATURAL.values()) + len(NATURAL) * _PAD
    assert fit_columns(COLS, NATURAL, whole) == NATURAL
    # One short of everything: the least important goes; nothing is cut.
    assert fit_columns(COLS, NATURAL, whole - 1) == {"id": 20, "next": 21, "after": 20}
    # Too narrow for "after" whole: it takes the room left, cut, and "workflow" does not
    # come after it although it would fit whole.
    narrow = 20 + 21 + 12 + 3 * _PAD
    assert fit_columns(COLS, NATURAL, narrow) == {"id": 20, "next": 21, "after": 12}
    # "waiting for" cut before "after" or "workflow" is shown at all.
    tight = 20 + 14 + 2 * _PAD
    assert fit_columns(COLS, NATURAL, tight) == {"id": 20, "next": 14}


async def test_stuck_rows_uncut_at_120_columns(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            for where in ("overview", "stuck view"):
                text = await wait_shown(pilot, "! stuck instance")
                lines = text.splitlines()
                top = next(i for i, line in enumerate(lines) if "! stuck instance" in line)
                header = lines[top]
                assert all(h in header for h in ("overdue", "whose move", "waiting for", "after")), header
                rows = [line for line in lines[top + 1 : top + 6] if line.strip()]
                assert rows and not any("…" in line for line in rows), f"{where}:\n" + "\n".join(rows)
                await pilot.press("s")
                await wait_until(pilot, lambda: isinstance(app.screen, StuckScreen), what="the stuck view")


def test_the_stuck_title_fits_80_columns() -> None:
    # The overview shows the 200 most overdue of however many: the title says so, uncut.
    assert stuck_title(36, 36) == "Stuck: 36, most overdue first; s groups them by cause"
    long = stuck_title(12_345_678, 200)
    assert "the 200 most overdue here" in long and long.endswith("s groups them by cause")
    assert len(long) <= 78, long
