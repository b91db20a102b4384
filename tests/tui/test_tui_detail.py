"""Instance detail: lanes on a time axis, events with headers and payload,
the causal chain, duplicate and skew marks, and the stuck explanation."""

from __future__ import annotations

from choreo.tui.app import make_app
from choreo.tui.screens.detail import DetailScreen
from choreo.tui.widgets.detail.events import EventsTable
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, screen_text, wait_shown, wait_until


async def test_navigate_overview_instances_detail_and_back(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await pilot.press("enter")  # the first workflow's instances
            await wait_shown(pilot, "sorted by started")
            await pilot.press("enter")  # its newest instance
            await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail")
            text = await wait_shown(pilot, "payload (json)")
            assert "┼" in text  # the time axis under the lanes
            await pilot.press("escape")
            await wait_shown(pilot, "sorted by started")
            await pilot.press("escape")
            await overview_ready(pilot)


async def test_stuck_instance_shows_its_explanation(mixed: FixtureStore) -> None:
    stuck = next(
        i
        for i in mixed.truth["instances"]
        if i["outcome"] == "stuck" and i["stuck"]["reason"] == "service-stopped"
    )
    with mixed.open() as store:
        (iid,) = store.query(
            "SELECT DISTINCT ie.instance_id FROM identifiers i JOIN instance_events ie "
            'USING (topic, partition, "offset") WHERE i.value = ?',
            [stuck["id"]],
        )[0]
        explanation = store.query("SELECT explanation FROM stuck WHERE instance_id = ?", [iid])[0][0]
        app = make_app(store)
        async with app.run_test(size=(160, 50)) as pilot:
            await overview_ready(pilot)
            await pilot.press("slash", *stuck["id"], "enter")
            await wait_shown(pilot, "1-1 of 1")
            await pilot.press("enter")
            text = await wait_shown(pilot, "! stuck:")
            flat = " ".join(text.split())
            assert " ".join(explanation.split())[:60] in flat
            assert f"next: {', '.join(stuck['stuck']['expected'])}" in flat
            assert f"from: {stuck['stuck']['service']}" in flat
            assert "overdue" in flat
            # The service whose move it is waits on the timeline.
            lane = next(
                line for line in text.splitlines() if line.strip().startswith(stuck["stuck"]["service"])
            )
            assert "┄" in lane and "?" in lane


async def test_event_pane_shows_headers_payload_and_marks(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        # An instance with both a redelivered duplicate and a skew-adjusted event.
        iid, label = store.query(
            "SELECT instance_id, label FROM instances WHERE n_duplicates > 0 AND n_skewed > 0 "
            "ORDER BY start_ms LIMIT 1"
        )[0]
        dup_seq, of_seq = store.query(
            "SELECT seq, duplicate_of_seq FROM instance_events WHERE instance_id = ? "
            "AND duplicate_of_seq IS NOT NULL ORDER BY seq LIMIT 1",
            [iid],
        )[0]
        app = make_app(store)
        async with app.run_test(size=(160, 60)) as pilot:
            await overview_ready(pilot)
            await pilot.press("slash", *label.split("=", 1)[1], "enter")
            await wait_shown(pilot, "1-1 of 1")
            await pilot.press("enter")
            text = await wait_shown(pilot, "causal chain")
            assert f"D dup of #{of_seq}" in text
            assert "~ skew" in text
            assert "headers (" in text and "payload (json)" in text
            screen = app.screen
            assert isinstance(screen, DetailScreen)
            table = screen.query_one(EventsTable)
            table.move_cursor(row=table.get_row_index(str(dup_seq)))
            text = await wait_shown(pilot, "counted once")
            assert f"redelivery of #{of_seq}" in text
            # The pretty payload: one JSON member per line.
            assert any(line.strip().startswith('"type"') or '"type":' in line for line in text.splitlines())
            await pilot.press("t")
            await wait_until(pilot, lambda: "┼" not in screen_text(app), what="timeline hidden")
