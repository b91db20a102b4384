"""Full-screen messages instead of a traceback: a store that cannot be
opened, an empty store, reconstruction in progress, a terminal too small."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Static

from choreo.tui.widgets.common.keybar import KeyBar


class NoticeScreen(Screen[None]):
    """A title and an explanation in a box; ``q`` still quits."""

    def __init__(self, title: str, text: str, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(self._text, id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#notice").border_title = self._title

    def show(self, title: str, text: str) -> None:
        self._title, self._text = title, text
        # Unmounted: compose and on_mount use them. Covered by another screen
        # (terminal too small): applied when this one is shown again.
        if self.is_mounted and self.is_current:
            self._apply()

    def on_screen_resume(self) -> None:
        self._apply()

    def _apply(self) -> None:
        notice = self.query_one("#notice", Static)
        notice.border_title = self._title
        notice.update(self._text)


class TooSmallScreen(Screen[None]):
    """Covers everything while the terminal is below the minimum size."""

    def __init__(self, min_size: tuple[int, int]) -> None:
        super().__init__()
        self._min = min_size

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self.update_size()

    def on_resize(self) -> None:
        self.update_size()

    def update_size(self) -> None:
        w, h = self.app.size
        mw, mh = self._min
        self.query_one("#too-small", Static).update(
            f"The terminal is {w}x{h}; choreo needs at least {mw}x{mh}.\n"
            "Enlarge the window, or press q to quit."
        )
