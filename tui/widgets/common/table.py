"""DataTables that keep the user's place and what matters most.

- Columns are declared with a priority: when the terminal is narrow, the
  least important go first and the rest are cut with an ellipsis, so that
  (on the stuck tables) whose move it is and how overdue never disappear.
- Rows are replaced by key: live updates never move the cursor to another
  row. A row inserted above the selection scrolls the view with it; a
  selected row that left the result stays, marked, until the cursor leaves it.
- g/Home and G/End go to the first and last row (of all pages, where the
  screen pages: it gets ``Jump`` and loads the page).
- A search text is highlighted wherever it occurs in the cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

Cell = str | Text
Row = tuple[str, Mapping[str, Cell]]  # key, cells by column key

HIGHLIGHT = "bold reverse yellow"
GONE = "⊘ "  # marks a selected row that left the result (kept until the cursor leaves it)


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    priority: int = 5  # 0 = never dropped; higher numbers are dropped first when narrow
    max_width: int = 40  # widest it grows to fit its cells
    min_width: int = 0  # narrowest it is cut to (at least its label)
    right: bool = False  # numbers: right-aligned
    wrap: bool = False  # continue on more lines instead of being cut (the row grows)

    @property
    def least(self) -> int:
        return max(self.min_width, len(self.label))


_PAD = 2  # DataTable's cell padding, both sides together


def fit_columns(cols: Sequence[Col], natural: Mapping[str, int], width: int) -> dict[str, int]:
    """Which columns to show at ``width`` and how wide. The priority-0 columns
    get their natural width (cut, widest first, only if even they do not fit);
    the others follow in order of importance, each whole while it fits; the
    first that fits only cut takes the room left (at least its narrowest),
    and nothing less important comes after it. A cell is cut only when the
    terminal is too narrow for the more important columns beside it, never
    to squeeze in one more column. A column that wraps takes its narrowest
    at first and all the room left at the end."""
    by_priority = sorted(cols, key=lambda c: c.priority)
    must = [c for c in by_priority if c.priority == 0]
    widths = {c.key: c.least if c.wrap else max(c.least, natural.get(c.key, c.least)) for c in must}
    over = sum(w + _PAD for w in widths.values()) - width
    while over > 0:
        widest = max(must, key=lambda c: widths[c.key] - c.least)
        if widths[widest.key] <= widest.least:
            break
        widths[widest.key] -= 1
        over -= 1
    used = sum(w + _PAD for w in widths.values())
    for c in [c for c in by_priority if c.priority > 0]:
        whole = c.least if c.wrap else max(c.least, natural.get(c.key, c.least))
        if used + whole + _PAD <= width:
            widths[c.key] = whole
            used += whole + _PAD
        elif used + c.least + _PAD <= width:
            widths[c.key] = width - used - _PAD
            used = width
    room = width - used
    for c in by_priority:
        if c.wrap and c.key in widths and room > 0:
            grow = min(room, max(0, natural.get(c.key, c.least) - widths[c.key]))
            widths[c.key] += grow
            room -= grow
    return widths


def _text_width(cell: Cell) -> int:
    return Text.from_markup(cell).cell_len if isinstance(cell, str) else cell.cell_len


def _fit(cell: Cell, width: int, right: bool, highlight: str | None) -> Text:
    text = Text(cell) if isinstance(cell, str) else cell.copy()
    if highlight:
        text.highlight_words([highlight], HIGHLIGHT, case_sensitive=False)
    text.truncate(width, overflow="ellipsis")
    if right:
        text.justify = "right"
    text.no_wrap = True
    return text


class KeptTable(DataTable[Cell]):
    """See the module docstring. Subclasses declare ``COLUMNS``; screens hand
    rows to ``show_rows``."""

    COLUMNS: ClassVar[tuple[Col, ...]] = ()
    BINDINGS = [
        Binding("g,home", "jump('first')", "First row", show=False),
        Binding("G,end", "jump('last')", "Last row", show=False),
    ]

    @dataclass
    class Jump(Message):
        """g/G on a table whose rows are one page of many: the screen loads the page."""

        table: KeptTable
        edge: str  # first | last

    def __init__(self, *, id: str | None = None, classes: str | None = None, paged: bool = False) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.paged = paged
        self.highlight: str | None = None
        self._rows: list[Row] = []
        self._widths: dict[str, int] = {}
        self._pinned: str | None = None  # a selected row kept although it left the result
        self._pinned_cells: Mapping[str, Cell] | None = None
        self._cursor_to_top = False

    # -- columns ----------------------------------------------------------
    def _natural(self) -> dict[str, int]:
        out = {}
        for c in self.COLUMNS:
            widest = max((_text_width(cells[c.key]) for _k, cells in self._rows if c.key in cells), default=0)
            out[c.key] = min(c.max_width, max(c.least, widest))
        return out

    def _layout(self) -> bool:
        """Recompute the columns for the current width; True when they changed."""
        width = self.size.width - 2  # the vertical scrollbar
        if width <= 0:
            width = 80
        widths = fit_columns(self.COLUMNS, self._natural(), width)
        if widths == self._widths:
            return False
        self._widths = widths
        return True

    def visible_columns(self) -> list[str]:
        return [c.key for c in self.COLUMNS if c.key in self._widths]

    def on_resize(self, event: events.Resize) -> None:
        if self._layout():
            self._redraw()

    # -- rows -------------------------------------------------------------
    def show_rows(self, rows: Iterable[Row], *, cursor_to_top: bool = False) -> None:
        """Swap in new rows, keeping the user's place (see the module docstring).
        ``cursor_to_top``: the order changed (a new sort): start at the top."""
        self._rows = list(rows)
        self._cursor_to_top = cursor_to_top
        self._layout()
        self._redraw()

    def _redraw(self) -> None:
        selected = self.selected_key()
        old_row = self.cursor_row if self.row_count else 0
        offset = old_row - round(self.scroll_y)  # the selected row's line on screen
        scroll_x = self.scroll_x
        keys = [k for k, _cells in self._rows]
        rows = list(self._rows)
        if self._cursor_to_top:
            selected = None
            self._pinned = None
        elif selected is not None and selected not in keys:
            # The selection left the result (resolved, paged away): it stays
            # where it was, marked, rather than the cursor landing on another.
            if self._pinned != selected:
                self._pinned_cells = self._cells_of(selected)
                self._pinned = selected
            if self._pinned_cells is not None:
                rows.insert(min(old_row, len(rows)), (selected, self._pinned_cells))
        else:
            self._pinned = None
        self.clear(columns=True)
        for c in self.COLUMNS:
            if c.key in self._widths:
                label = Text(c.label, justify="right" if c.right else "left")
                self.add_column(label, key=c.key, width=self._widths[c.key])
        for key, cells in rows:
            fitted = [
                self._wrapped(cells.get(c.key, ""), self._widths[c.key])
                if c.wrap
                else _fit(cells.get(c.key, ""), self._widths[c.key], c.right, self.highlight)
                for c in self.COLUMNS
                if c.key in self._widths
            ]
            height = max((len(t.plain.split("\n")) for t in fitted), default=1)
            if key == self._pinned and fitted:
                for t in fitted:
                    t.stylize("dim italic")
                fitted[0] = Text(GONE, style="bold").append_text(fitted[0])
                fitted[0].truncate(self._widths[self.visible_columns()[0]], overflow="ellipsis")
            self.add_row(*fitted, key=key, height=height)
        if self.row_count:
            order = [k for k, _cells in rows]
            if self._cursor_to_top:
                target = 0
            elif selected is not None and selected in order:
                target = order.index(selected)
            else:
                target = min(old_row, self.row_count - 1)
            self.move_cursor(row=target, animate=False, scroll=False)
            top = 0 if self._cursor_to_top else max(0, target - offset)
            # The table's virtual size follows its new rows on the next refresh:
            # scrolling before that would be clamped to the emptied table.
            self.scroll_to(scroll_x, top, animate=False, immediate=True)
            self.call_after_refresh(self._restore_scroll, scroll_x, top)
        self._cursor_to_top = False

    def _wrapped(self, cell: Cell, width: int) -> Text:
        text = Text(cell) if isinstance(cell, str) else cell.copy()
        if self.highlight:
            text.highlight_words([self.highlight], HIGHLIGHT, case_sensitive=False)
        lines = text.wrap(self.app.console, width, overflow="fold")
        return Text("\n").join(lines)

    def _restore_scroll(self, x: float, y: float) -> None:
        self.scroll_to(x, y, animate=False, immediate=True)

    def _cells_of(self, key: str) -> Mapping[str, Cell] | None:
        try:
            values = self.get_row(key)
        except RowDoesNotExist:
            return None
        return dict(zip(self.visible_columns(), values, strict=False))

    def row_data(self, key: str) -> Mapping[str, Cell] | None:
        return next((cells for k, cells in self._rows if k == key), None)

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

    # -- keys ---------------------------------------------------------------
    def action_jump(self, edge: str) -> None:
        if self.paged:
            self.post_message(self.Jump(self, edge))
        elif self.row_count:
            self.move_cursor(row=0 if edge == "first" else self.row_count - 1, animate=False)


class OpenableTable(KeptTable):
    """A table whose rows open something: Enter is shown in the footer."""

    BINDINGS = [Binding("enter", "select_cursor", "Open")]
