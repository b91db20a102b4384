"""Instances table: the stuck filter, identifier search, sorting and paging."""

from __future__ import annotations

from textual.message import Message

from choreo.tui.app import make_app
from choreo.tui.data.models import InstanceQuery, SortKey
from choreo.tui.messages import OpenInstance
from choreo.tui.screens.detail import DetailScreen
from choreo.tui.screens.instances import InstancesScreen
from choreo.tui.widgets.instances.table import InstancesTable
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, screen_text, wait_shown, wait_until


def _labels(app: object) -> list[str]:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, InstancesScreen) and screen.page is not None
    return [r.label for r in screen.page.rows]


async def test_stuck_filter_shows_exactly_the_stuck_instances(mixed: FixtureStore) -> None:
    truth_stuck = {i["id"] for i in mixed.truth["instances"] if i["outcome"] == "stuck"}
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await pilot.press("a", "s")  # all instances, then stuck only
            await wait_shown(pilot, f"of {len(truth_stuck)} ·")
            screen = app.screen
            assert isinstance(screen, InstancesScreen)
            assert screen.query_state.status == "stuck"
            assert screen.page is not None and screen.page.total == len(truth_stuck)

            # Every row says "stuck" in words, not only in colour. A frame can be painted
            # after the rows arrive but before the columns widen to fit them (cells cut
            # at the header's width), so wait for the settled table.
            def rows_all_stuck() -> bool:
                lines = screen_text(app).splitlines()
                rows = [line for line in lines if "ord-" in line or "usr-" in line or "vid-" in line]
                return bool(rows) and all("! stuck" in line for line in rows)

            await wait_until(pilot, rows_all_stuck, what="rows that all say '! stuck'")
            shown = {label.split("=", 1)[1] for label in _labels(app)}
            assert shown == truth_stuck
            # The same through the pickers: any status, then stuck again and a workflow.
            await pilot.press("f", "home", "enter")
            await wait_until(pilot, lambda: screen.query_state.status is None, what="any status")
            await pilot.press("f", "end", "enter")
            await wait_until(pilot, lambda: screen.query_state.status == "stuck", what="stuck picked")
            await pilot.press("w", "down", "enter")
            await wait_until(pilot, lambda: screen.query_state.workflow is not None, what="workflow picked")
            wf = screen.query_state.workflow
            n = sum(1 for i in mixed.truth["instances"] if i["outcome"] == "stuck" and i["workflow"] == wf)
            await wait_shown(pilot, f"of {n} ·")
            assert f"workflow: {wf}" in screen_text(app)


async def test_search_finds_an_instance_by_a_shipment_id_only_one_event_carries(
    mixed: FixtureStore,
) -> None:
    with mixed.open() as store:
        # A shipment id carried by exactly one event: a stalled shipment whose
        # ShipmentDelivered never came, so only ShipmentScheduled names it.
        rows = store.query(
            "SELECT value FROM identifiers WHERE name = 'shipmentId' GROUP BY value HAVING count(*) = 1 "
            "ORDER BY value LIMIT 1"
        )
        assert rows, "the fixture has a shipment id on one event only"
        shipment = rows[0][0]
        owner = next(i for i in mixed.truth["instances"] if i["identifiers"].get("shipmentId") == shipment)
        app = make_app(store)
        async with app.run_test() as pilot:
            await overview_ready(pilot)
            await pilot.press("slash")
            await wait_until(pilot, lambda: isinstance(app.screen, InstancesScreen), what="instances screen")
            await pilot.press(*shipment, "enter")
            text = await wait_shown(pilot, "1-1 of 1 ·")
            assert owner["id"] in text
            assert isinstance(app.screen, InstancesScreen)
            assert app.screen.query_state.search == shipment
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail screen")
            await wait_shown(pilot, owner["id"])


async def test_search_for_an_unknown_value_says_so(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test() as pilot:
            await overview_ready(pilot)
            await pilot.press("a")
            await wait_shown(pilot, "sorted by started")
            await pilot.press("slash", *"no-such-id", "enter")
            await wait_shown(pilot, "No instance carries 'no-such-id'")


async def test_sort_keys_reorder_and_paging_moves_by_a_page(mixed: FixtureStore) -> None:
    posted: list[Message] = []
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(message_hook=posted.append) as pilot:
            await overview_ready(pilot)
            await pilot.press("a")
            await wait_shown(pilot, "sorted by started, newest first")
            screen = app.screen
            assert isinstance(screen, InstancesScreen)
            starts = [r.start_ms for r in screen.page.rows] if screen.page else []
            assert starts == sorted(starts, reverse=True)
            await pilot.press("o")  # age: the longest silent first
            await wait_shown(pilot, "sorted by age, longest silent first")
            ends = [r.end_ms for r in screen.page.rows] if screen.page else []
            assert ends == sorted(ends)
            await pilot.press("o")
            await wait_shown(pilot, "sorted by duration, longest first")
            durations = [r.duration_ms for r in screen.page.rows] if screen.page else []
            assert durations == sorted(durations, reverse=True)
            await pilot.press("o")
            await wait_shown(pilot, "sorted by events, most events first")
            await pilot.press("r")
            await wait_shown(pilot, "sorted by events, fewest events first")
            counts = [r.n_events for r in screen.page.rows] if screen.page else []
            assert counts == sorted(counts)
            total = screen.page.total if screen.page else 0
            assert total > InstanceQuery().limit
            await pilot.press("right_square_bracket")
            await wait_shown(pilot, f"101-{min(200, total)} of {total:,}")
            await pilot.press("left_square_bracket")
            await wait_shown(pilot, f"1-100 of {total:,}")
            table = screen.query_one(InstancesTable)
            table.focus()
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail screen")
            assert any(isinstance(m, OpenInstance) for m in posted)
            assert screen.query_state.sort == SortKey.EVENTS
