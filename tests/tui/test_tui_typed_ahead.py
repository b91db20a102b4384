"""Keys typed ahead: `/` and the text after it arrive in one read from the
terminal (a quick typist, a paste), before the search box has the focus;
none of them may be lost or go to the table instead."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from choreo.tui.app import ChoreoApp, make_app
from choreo.tui.screens.instances import InstancesScreen
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, wait_until


def _type_at_once(app: ChoreoApp, text: str) -> None:
    """Queue every key before the app handles the first, as a terminal's read delivers them."""
    for ch in text:
        app.post_message(events.Key("slash" if ch == "/" else ch, ch))


async def test_search_typed_ahead_on_the_instances_screen(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, InstancesScreen), what="the instances")
            screen = app.screen
            assert isinstance(screen, InstancesScreen)
            _type_at_once(app, "/ord-1")
            await wait_until(
                pilot, lambda: screen.query_one("#search", Input).value == "ord-1", what="the search text"
            )
            await wait_until(pilot, lambda: screen.query_state.search == "ord-1", what="the filter applied")
            # Esc leaves the box; `/` and new text typed at once start a new search.
            await pilot.press("escape")
            _type_at_once(app, "/ord-2")
            await wait_until(
                pilot, lambda: screen.query_one("#search", Input).value == "ord-2", what="the new search text"
            )


async def test_search_typed_ahead_from_the_overview(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await overview_ready(pilot)
            _type_at_once(app, "/ord-1")
            await wait_until(pilot, lambda: isinstance(app.screen, InstancesScreen), what="the instances")
            screen = app.screen
            await wait_until(
                pilot, lambda: screen.query_one("#search", Input).value == "ord-1", what="the search text"
            )
