"""Stuck instances grouped by cause — after which step they stopped, whose
move it is, what for — above the instances of the cause under the cursor,
most overdue first. Enter on a cause goes into its instances, on an instance
opens it."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Input, Label, Static

from choreo.reconstruct.query.records import StuckCause
from choreo.reconstruct.query.stuck import STUCK_SORTS, Cause, StuckPage, StuckQuery
from choreo.tui.context import AppContext
from choreo.tui.data.format import count
from choreo.tui.messages import OpenInstance
from choreo.tui.screens.paged import PagedScreen
from choreo.tui.widgets.common.keybar import KeyBar
from choreo.tui.widgets.common.table import KeptTable
from choreo.tui.widgets.stuck.tables import ALL_CAUSES, CausesTable, StuckTable, cause_key

FILTER_PLACEHOLDER = "/ filter as you type: part of an id or label, or any identifier value"
# Text columns read A to Z first; times the longest first.
_ASCENDING = {"label", "workflow", "last", "expected", "service", "reason"}


def describe(page: StuckPage, cause: StuckCause | None) -> Text:
    q = page.query
    t = Text(no_wrap=True, overflow="ellipsis")
    if cause is None:
        t.append("every cause", style="bold")
    else:
        t.append(f"after {cause.last_type}", style="bold")
        t.append(f" · {cause.responsible_service or '?'}'s move", style="bold magenta")
        t.append(f" · {cause.reason}")
    if q.search:
        t.append(f" · matching {q.search!r}")
    if page.total == 0:
        t.append(" · none")
        return t
    first, last = q.offset + 1, q.offset + len(page.rows)
    t.append(f" · {count(first)}-{count(last)} of {count(page.total)}")
    order = "most first" if q.descending else "least first"
    if q.sort in _ASCENDING:
        order = "Z-A" if q.descending else "A-Z"
    t.append(f" · sorted by {q.sort}, {order}", style="dim")
    if page.total > q.limit:
        t.append(f" · page {q.offset // q.limit + 1} of {(page.total - 1) // q.limit + 1} ([ ])", style="dim")
    return t


class StuckScreen(PagedScreen[StuckQuery]):
    BINDINGS = [
        Binding("tab", "other_table", "Causes / instances", show=False),
    ]

    def __init__(self, ctx: AppContext, workflow: str | None = None) -> None:
        super().__init__(ctx, StuckQuery(workflow=workflow))
        self.causes: list[StuckCause] = []
        self.page: StuckPage | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Stuck, by cause: Enter goes into its instances", classes="section", id="causes-title")
        yield CausesTable(id="causes")
        yield Input(placeholder=FILTER_PLACEHOLDER, id="search", classes="filter")
        yield StuckTable(id="stuck-list", paged=True)
        yield Static("Loading…", id="stuck-state", classes="page-bar")
        yield KeyBar()

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = "stuck instances"
        self.query_one(CausesTable).focus()

    def table(self) -> KeptTable:
        return self.query_one("#stuck-list", StuckTable)

    def sort_columns(self) -> list[str]:
        return list(STUCK_SORTS)

    def current_sort(self) -> str:
        return self.query_state.sort

    def sorted_by(self, column: str, descending: bool) -> StuckQuery:
        return self.query_state.with_(sort=column, descending=descending)

    def default_descending(self, column: str) -> bool:
        return column not in _ASCENDING

    # -- loading ------------------------------------------------------------
    def reload(self) -> None:
        self._load_causes(self.query_state.workflow)
        self.load(self.query_state)

    @work(thread=True, exclusive=True, group="stuck-causes")
    def _load_causes(self, workflow: str | None) -> None:
        causes = self.ctx.reader.stuck_causes(workflow)
        self.deliver(self._show_causes, causes)

    def _show_causes(self, causes: list[StuckCause]) -> None:
        self.causes = causes
        self.query_one(CausesTable).show(causes)
        total = sum(c.count for c in causes)
        self.query_one("#causes-title", Label).update(
            f"Stuck: {count(total)} in {len(causes)} cause(s); Enter goes into a cause's instances"
        )

    def load(self, query: StuckQuery) -> None:
        self._load_page(query)

    @work(thread=True, exclusive=True, group="stuck-page")
    def _load_page(self, query: StuckQuery) -> None:
        page = self.ctx.reader.stuck_page(query)
        self.deliver(self._show_page, page)

    def _show_page(self, page: StuckPage) -> None:
        if page.query != self.query_state:
            return  # the user changed the query meanwhile; its own load follows
        self.page = page
        where = self.page_loaded(page.query, page.total)
        table = self.query_one("#stuck-list", StuckTable)
        table.show(page.rows, cursor_to_top=where == "first")
        self.place_cursor(where)
        self._show_state()

    def query_changed(self) -> None:
        self._show_state(loading=True)

    def _cause(self) -> StuckCause | None:
        c = self.query_state.cause
        if c is None:
            return None
        return next((x for x in self.causes if Cause.of(x) == c), None)

    def _show_state(self, *, loading: bool = False) -> None:
        state = self.query_one("#stuck-state", Static)
        if loading or self.page is None:
            state.update("Loading…")
        else:
            state.update(describe(self.page, self._cause()))

    # -- choosing a cause ---------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "causes":
            return
        key = event.row_key.value
        cause = (
            None if key in (None, ALL_CAUSES) else next((c for c in self.causes if cause_key(c) == key), None)
        )
        wanted = None if cause is None else Cause.of(cause)
        if wanted != self.query_state.cause:
            self.set_query(self.query_state.with_(cause=wanted))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "causes":
            self.table().focus()
        elif event.row_key.value is not None:
            self.post_message(OpenInstance(event.row_key.value))

    def action_other_table(self) -> None:
        """Between the causes and their instances (the filter box has /)."""
        causes = self.query_one(CausesTable)
        (self.table() if causes.has_focus else causes).focus()

    def selected_saga(self) -> tuple[str, str] | None:
        table = self.table()
        key = table.selected_key()
        if key is None or self.page is None:
            return None
        row = next((r for r in self.page.rows if r.instance_id == key), None)
        return key, row.label if row is not None else key
