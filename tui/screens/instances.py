"""The instances table: filter by workflow and status, search by any
identifier value, sort, and page — every page is one SQL query."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Input, Static
from textual.worker import get_current_worker

from choreo.reconstruct.query.records import STATUS_ORDER
from choreo.tui.context import AppContext
from choreo.tui.data.format import count
from choreo.tui.data.models import InstancePage, InstanceQuery, SortKey
from choreo.tui.messages import OpenInstance, OpenModel
from choreo.tui.screens.base import DataScreen
from choreo.tui.screens.pick import ANY, PickScreen
from choreo.tui.widgets.common.keybar import KeyBar
from choreo.tui.widgets.instances.filters import FilterBar
from choreo.tui.widgets.instances.table import SORT_COLUMNS, InstancesTable

_SORT_ORDER = [SortKey.START, SortKey.AGE, SortKey.DURATION, SortKey.EVENTS]
_SORT_TEXT = {
    (SortKey.START, True): "newest first",
    (SortKey.START, False): "oldest first",
    (SortKey.AGE, True): "longest silent first",
    (SortKey.AGE, False): "most recently active first",
    (SortKey.DURATION, True): "longest first",
    (SortKey.DURATION, False): "shortest first",
    (SortKey.EVENTS, True): "most events first",
    (SortKey.EVENTS, False): "fewest events first",
}


def describe_page(page: InstancePage) -> str:
    q = page.query
    sort = f"sorted by {q.sort.value}, {_SORT_TEXT[(q.sort, q.descending)]}"
    if page.total == 0:
        if q.search:
            return f"No instance carries {q.search!r}" + (
                " with these filters" if q.workflow or q.status else ""
            )
        return "No instance matches these filters"
    first = q.offset + 1
    last = q.offset + len(page.rows)
    pages = ""
    if page.total > q.limit:
        pages = f" · page {q.offset // q.limit + 1} of {(page.total - 1) // q.limit + 1} ([ ] to page)"
    return f"{count(first)}-{count(last)} of {count(page.total)} · {sort}{pages}"


class InstancesScreen(DataScreen):
    BINDINGS = [
        Binding("w", "pick_workflow", "Workflow"),
        Binding("f", "pick_status", "Status"),
        Binding("o", "sort", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("s", "toggle_stuck", "Stuck only"),
        Binding("right_square_bracket", "page(1)", "Next page"),
        Binding("left_square_bracket", "page(-1)", "Prev page"),
        Binding("m", "model", "Model", show=False),
    ]

    def __init__(self, ctx: AppContext, query: InstanceQuery, focus_search: bool = False) -> None:
        super().__init__(ctx)
        self.query_state = query
        self.page: InstancePage | None = None
        self._focus_search = focus_search
        self._workflows_loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield FilterBar(self.query_state)
        yield InstancesTable(id="instances")
        yield Static("Loading…", id="page-bar")
        yield KeyBar()

    def on_mount(self) -> None:
        super().on_mount()
        if self._focus_search:
            self.query_one("#search", Input).focus()
        else:
            self.query_one(InstancesTable).focus()

    # -- loading ----------------------------------------------------------
    def reload(self) -> None:
        known = None if self._workflows_loaded else self.ctx.workflows
        self._load(self.query_state, not self._workflows_loaded, known)

    @work(thread=True, exclusive=True, group="instances")
    def _load(self, query: InstanceQuery, with_workflows: bool, known: list[str] | None) -> None:
        page = self.ctx.reader.instances(query)
        workflows = (known or self.ctx.reader.workflows()) if with_workflows else None
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, page, workflows)

    def _show(self, page: InstancePage, workflows: list[str] | None) -> None:
        if page.query != self.query_state:
            return  # the user changed the query meanwhile; its own load follows
        if workflows is not None:
            self._workflows_loaded = True
            self.ctx.workflows = workflows
        self.page = page
        self.query_one(InstancesTable).show(page)
        self.query_one("#page-bar", Static).update(describe_page(page))

    def set_query(self, query: InstanceQuery) -> None:
        if query == self.query_state:
            return
        self.query_state = query
        self.query_one(FilterBar).show(query)
        self.query_one("#page-bar", Static).update("Loading…")
        self.reload()

    # -- input ------------------------------------------------------------
    def action_pick_workflow(self) -> None:
        def chosen(value: str | None) -> None:
            if value is not None:
                self.set_query(self.query_state.with_(workflow=None if value == ANY else value))

        workflows = self.ctx.workflows or []
        self.app.push_screen(
            PickScreen("workflow", "all workflows", workflows, self.query_state.workflow), chosen
        )

    def action_pick_status(self) -> None:
        def chosen(value: str | None) -> None:
            if value is not None:
                self.set_query(self.query_state.with_(status=None if value == ANY else value))

        self.app.push_screen(
            PickScreen("status", "any status", list(STATUS_ORDER), self.query_state.status), chosen
        )

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self.set_query(self.query_state.with_(search=event.value.strip() or None))
        self.query_one(InstancesTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(OpenInstance(event.row_key.value))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        sort = SORT_COLUMNS.get(str(event.column_key.value))
        if sort is None:
            return
        q = self.query_state
        self.set_query(q.with_(sort=sort, descending=not q.descending if q.sort == sort else True))

    # -- actions ----------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_back(self) -> None:
        if self.query_one("#search", Input).has_focus:
            self.query_one(InstancesTable).focus()
            return
        super().action_back()

    def action_sort(self) -> None:
        q = self.query_state
        nxt = _SORT_ORDER[(_SORT_ORDER.index(q.sort) + 1) % len(_SORT_ORDER)]
        self.set_query(q.with_(sort=nxt, descending=True))

    def action_reverse(self) -> None:
        self.set_query(self.query_state.with_(descending=not self.query_state.descending))

    def action_toggle_stuck(self) -> None:
        status = None if self.query_state.status == "stuck" else "stuck"
        self.set_query(self.query_state.with_(status=status))

    def action_page(self, delta: int) -> None:
        q = self.query_state
        total = self.page.total if self.page is not None else 0
        offset = q.offset + delta * q.limit
        if offset < 0 or offset >= total:
            return
        self.set_query(q.with_(offset=offset))

    def action_model(self) -> None:
        if self.query_state.workflow is not None:
            self.post_message(OpenModel(self.query_state.workflow))
