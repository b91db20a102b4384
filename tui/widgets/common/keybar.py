"""The footer: the keys that work on this screen, as one line of text.

Textual's Footer builds a widget per key and rebuilds them on every focus
change; on screens that open and close all the time that is most of the
cost of showing them. This renders the same information as one Text.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $footer-background; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._items: list[tuple[str, str, bool, bool]] = []  # key, description, enabled, always shown

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        self._items = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            keep = binding.action in _ALWAYS
            self._items.append((self.app.get_key_display(binding), binding.description, enabled, keep))
        self._render_line()

    def on_resize(self) -> None:
        self._render_line()

    def _render_line(self) -> None:
        """As many keys as fit, in order; quit and help always (at the end)."""
        items = self._items
        width = self.size.width or 80
        always = [i for i in items if i[3]]
        others = [i for i in items if not i[3]]
        room = width - sum(_width(i) for i in always)
        shown: list[tuple[str, str, bool, bool]] = []
        for i, item in enumerate(others):
            rest = others[i + 1 :]
            need = _width(item) + (len(_MORE) if rest else 0)
            if need > room:
                break
            shown.append(item)
            room -= _width(item)
        line = Text(no_wrap=True, overflow="crop")
        for key, description, enabled, _keep in shown:
            _append(line, key, description, enabled)
        if len(shown) < len(others):
            line.append(_MORE, style="dim")
        for key, description, enabled, _keep in always:
            _append(line, key, description, enabled)
        self.update(line)


_ALWAYS = ("quit", "app.quit", "help", "app.help")
_MORE = " … "


def _width(item: tuple[str, str, bool, bool]) -> int:
    return len(item[0]) + len(item[1]) + 3


def _append(line: Text, key: str, description: str, enabled: bool) -> None:
    line.append(f" {key} ", style="bold reverse" if enabled else "dim")
    line.append(f"{description} ", style="" if enabled else "dim")
