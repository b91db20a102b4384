"""What the screens that page through a list share: a filter that applies as
you type (and says what it applies), sorting by any column (its header, or o
to cycle, r to reverse) with the cursor back at the top, g/G and Home/End to
the first and last row of all pages, [ ] to page, and the search text
highlighted in the rows."""

from __future__ import annotations

from abc import abstractmethod
from typing import Generic, Protocol, Self, TypeVar

from textual import events, on
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Input

from choreo.tui.context import AppContext
from choreo.tui.screens.base import DataScreen
from choreo.tui.widgets.common.table import KeptTable

TYPING_PAUSE_S = 0.25  # the filter applies once typing pauses this long


class PagedQuery(Protocol):
    @property
    def search(self) -> str | None: ...
    @property
    def offset(self) -> int: ...
    @property
    def limit(self) -> int: ...
    @property
    def descending(self) -> bool: ...

    def with_(self, **changes: object) -> Self: ...


Q = TypeVar("Q", bound=PagedQuery)


class PagedScreen(DataScreen, Generic[Q]):
    BINDINGS = [
        Binding("o", "sort", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("c", "copy", "Copy id"),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False),
    ]

    def __init__(self, ctx: AppContext, query: Q) -> None:
        super().__init__(ctx)
        self.query_state: Q = query
        self.total = 0  # rows matching, over all pages
        self._typing: Timer | None = None
        self._cursor_after_load: str | None = None  # "first" | "last": where a jump lands

    # -- what a subclass provides -------------------------------------------
    @abstractmethod
    def table(self) -> KeptTable:
        """The paged table."""

    @abstractmethod
    def sort_columns(self) -> list[str]:
        """Sort keys in the order ``o`` cycles through them (column keys)."""

    @abstractmethod
    def current_sort(self) -> str: ...

    @abstractmethod
    def sorted_by(self, column: str, descending: bool) -> Q:
        """The query sorted by ``column`` (one of ``sort_columns``)."""

    def default_descending(self, column: str) -> bool:
        return True

    @abstractmethod
    def load(self, query: Q) -> None:
        """Start loading ``query``'s page (in a worker); it calls ``page_loaded``."""

    # -- loading ------------------------------------------------------------
    def set_query(self, query: Q, *, cursor_to_top: bool = True) -> None:
        if query == self.query_state:
            return
        self.query_state = query
        if cursor_to_top and self._cursor_after_load is None:
            self._cursor_after_load = "first"
        self.query_changed()
        self.load(query)

    def query_changed(self) -> None:
        """The query changed (before its page is there): say so."""

    def page_loaded(self, query: Q, total: int) -> str | None:
        """Call when a page is shown; returns where the cursor must go (first/last/None)."""
        self.total = total
        table = self.table()
        table.highlight = (query.search or "").strip() or None
        where, self._cursor_after_load = self._cursor_after_load, None
        return where

    def place_cursor(self, where: str | None) -> None:
        table = self.table()
        if where == "last" and table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    # -- filtering as you type ----------------------------------------------
    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        if self._typing is not None:
            self._typing.stop()
        value = event.value
        self._typing = self.set_timer(TYPING_PAUSE_S, lambda: self._apply_search(value))

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._typing is not None:
            self._typing.stop()
        self._apply_search(event.value)
        self.table().focus()

    def _apply_search(self, value: str) -> None:
        self.set_query(self.query_state.with_(search=value.strip() or None))

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        search = self.query_one("#search", Input)
        if event.widget is search:
            # What was typed after `/` before the box had the focus starts the search text.
            ahead = self.ctx.type_ahead.take()
            if ahead:
                # After the box has handled its focus (which selects its old text).
                search.call_later(_type_into, search, ahead)

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            # What the box says is what the rows show: a filter being typed applies.
            if self._typing is not None:
                self._typing.stop()
                self._apply_search(search.value)
            self.table().focus()
            return
        super().action_back()

    # -- sorting ------------------------------------------------------------
    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.data_table is not self.table():
            return
        column = str(event.column_key.value)
        if column not in self.sort_columns():
            return
        same = column == self.current_sort()
        desc = not self.query_state.descending if same else self.default_descending(column)
        self.set_query(self.sorted_by(column, desc))

    def action_sort(self) -> None:
        columns = self.sort_columns()
        current = self.current_sort()
        nxt = columns[(columns.index(current) + 1) % len(columns)] if current in columns else columns[0]
        self.set_query(self.sorted_by(nxt, self.default_descending(nxt)))

    def action_reverse(self) -> None:
        self.set_query(self.query_state.with_(descending=not self.query_state.descending))

    # -- paging and jumps ---------------------------------------------------
    def action_page(self, delta: int) -> None:
        q = self.query_state
        offset = q.offset + delta * q.limit
        if offset < 0 or offset >= self.total:
            return
        self._cursor_after_load = "first" if delta > 0 else "last"
        self.set_query(q.with_(offset=offset), cursor_to_top=False)

    def on_kept_table_jump(self, event: KeptTable.Jump) -> None:
        q = self.query_state
        last_page = max(0, (self.total - 1) // q.limit * q.limit)
        offset = 0 if event.edge == "first" else last_page
        if offset == q.offset:
            table = self.table()
            if table.row_count:
                table.move_cursor(row=0 if event.edge == "first" else table.row_count - 1, animate=False)
            return
        self._cursor_after_load = event.edge
        self.set_query(q.with_(offset=offset), cursor_to_top=False)


def _type_into(search: Input, text: str) -> None:
    """As if typed: over the selection (a new search after `/`), else at the cursor."""
    if search.selection.is_empty:
        search.insert_text_at_cursor(text)
    else:
        search.replace(text, *search.selection)
