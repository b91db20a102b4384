"""Keys: the footer, ? help, q quit, Ctrl-C quits too; 80x24 is enough."""

from __future__ import annotations

from choreo.tui.app import make_app
from choreo.tui.screens.help import HelpScreen
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import flat, overview_ready, screen_text, wait_shown, wait_until


async def test_footer_help_and_quit_at_80x24(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test(size=(80, 24)) as pilot:
            await overview_ready(pilot)
            text = await wait_shown(pilot, "? Help")
            footer = [line for line in text.splitlines() if line.strip()][-1]
            for key in ("Search", "Stuck", "Quit", "Help"):
                assert key in footer
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
            help_text = await wait_shown(pilot, "choreo keys")
            assert "or any identifier value" in flat(help_text) and "G / End" in help_text
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")
            assert "Workflows" in screen_text(app)
            await pilot.press("q")
            await wait_until(pilot, lambda: not app.is_running, what="quit")


async def test_typing_q_in_the_search_box_does_not_quit(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test() as pilot:
            await overview_ready(pilot)
            await pilot.press("slash", "q", "escape")
            assert app.is_running
            await pilot.press("escape")
            await overview_ready(pilot)


async def test_ctrl_c_quits_even_from_the_search_box(mixed: FixtureStore) -> None:
    with mixed.open() as store:
        app = make_app(store)
        async with app.run_test() as pilot:
            await overview_ready(pilot)
            await pilot.press("slash", "o")
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: not app.is_running, what="quit")
