"""Driving the dashboard in tests: what is on screen, and waiting for it."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot


def screen_text(app: App[Any]) -> str:
    """The current screen as plain text, as a user would read it."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, force_terminal=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers finish and their results reach the screen."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 60.0, what: str = ""
) -> None:
    """Poll ``condition`` between event-loop turns until true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or condition}\n{screen_text(pilot.app)}"
            )
        await pilot.pause(0.02)
        await asyncio.sleep(0)


def flat(text: str) -> str:
    """Screen text as one line: words wrapped inside a box still match."""
    return " ".join(text.replace("│", " ").split())


async def wait_shown(pilot: Pilot[Any], text: str, timeout: float = 60.0) -> str:
    """Wait until ``text`` is on screen (on one line, or wrapped); returns the screen."""

    def shown() -> bool:
        screen = screen_text(pilot.app)
        return text in screen or flat(text) in flat(screen)

    await wait_until(pilot, shown, timeout, what=repr(text))
    return screen_text(pilot.app)


async def overview_ready(pilot: Pilot[Any]) -> None:
    """Wait until the overview shows its workflows (keys act on loaded rows)."""
    from choreo.tui.screens.overview import OverviewScreen
    from choreo.tui.widgets.overview.workflows import WorkflowTable

    def ready() -> bool:
        screen = pilot.app.screen
        return (
            isinstance(screen, OverviewScreen)
            and screen.overview is not None
            and screen.query_one(WorkflowTable).row_count > 0
        )

    await wait_until(pilot, ready, what="the overview's workflows")
