"""DataTables that keep the user's place across reloads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable

Cell = str | Text


class KeptTable(DataTable[Cell]):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)

    def replace_rows(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> None:
        """Swap in new rows; the highlighted row (by key) and the scroll
        position stay where they were, so live updates do not move the user."""
        selected: str | None = None
        if self.row_count and self.is_valid_row_index(self.cursor_row):
            selected = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        scroll_x, scroll_y = self.scroll_x, self.scroll_y
        old_row = self.cursor_row
        self.clear()
        index: int | None = None
        for n, (key, cells) in enumerate(rows):
            self.add_row(*cells, key=key)
            if key == selected:
                index = n
        if self.row_count:
            target = index if index is not None else min(old_row, self.row_count - 1)
            self.move_cursor(row=target, animate=False, scroll=False)
        self.scroll_to(scroll_x, scroll_y, animate=False, immediate=True)

    async def _on_idle(self, event: events.Idle) -> None:
        # DataTable widens auto-width columns on idle but keeps line caches keyed
        # without the widths: a frame painted between add_row and this idle stays
        # on screen with every cell cut at its header's width. Invalidate and repaint.
        widths = [c.content_width for c in self.ordered_columns]
        await super()._on_idle(event)
        if widths != [c.content_width for c in self.ordered_columns]:
            self._update_count += 1
            self.refresh()

    def selected_key(self) -> str | None:
        if not self.row_count or not self.is_valid_row_index(self.cursor_row):
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value


class OpenableTable(KeptTable):
    """A table whose rows open something: Enter is shown in the footer."""

    BINDINGS = [Binding("enter", "select_cursor", "Open")]
