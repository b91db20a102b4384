"""The instances table: filter by workflow and status, filter as you type by
any identifier value or part of a label, sort by any column, and page —
every page is one SQL query."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Input, Static

from choreo.reconstruct.query.records import STATUS_ORDER
from choreo.tui.context import AppContext
from choreo.tui.data.format import count
from choreo.tui.data.models import InstancePage, InstanceQuery, SortKey
from choreo.tui.messages import OpenInstance, OpenModel
from choreo.tui.screens.paged import PagedScreen
from choreo.tui.screens.pick import ANY, PickScreen
from choreo.tui.widgets.common.keybar import KeyBar
from choreo.tui.widgets.common.table import KeptTable
from choreo.tui.widgets.instances.filters import FilterBar
from choreo.tui.widgets.instances.table import SORT_COLUMNS, InstancesTable

_SORT_TEXT = {
    SortKey.START: ("newest first", "oldest first"),
    SortKey.AGE: ("longest silent first", "most recently active first"),
    SortKey.DURATION: ("longest first", "shortest first"),
    SortKey.EVENTS: ("most events first", "fewest events first"),
}
_COLUMN_OF = {v: k for k, v in SORT_COLUMNS.items()}


def describe_page(page: InstancePage) -> str:
    q = page.query
    if q.sort.text:
        order = "Z-A" if q.descending else "A-Z"
    else:
        order = _SORT_TEXT[q.sort][0 if q.descending else 1]
    sort = f"sorted by {_COLUMN_OF[q.sort]}, {order}"
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
    found = f" · matching {q.search!r}" if q.search else ""
    return f"{count(first)}-{count(last)} of {count(page.total)}{found} · {sort}{pages}"


class InstancesScreen(PagedScreen[InstanceQuery]):
    BINDINGS = [
        Binding("w", "pick_workflow", "Workflow"),
        Binding("f", "pick_status", "Status"),
        Binding("s", "toggle_stuck", "Stuck only"),
        Binding("m", "model", "Model"),
    ]

    def __init__(self, ctx: AppContext, query: InstanceQuery, focus_search: bool = False) -> None:
        super().__init__(ctx, query)
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

    def table(self) -> KeptTable:
        return self.query_one(InstancesTable)

    def sort_columns(self) -> list[str]:
        return list(SORT_COLUMNS)

    def current_sort(self) -> str:
        return _COLUMN_OF[self.query_state.sort]

    def sorted_by(self, column: str, descending: bool) -> InstanceQuery:
        return self.query_state.with_(sort=SORT_COLUMNS[column], descending=descending)

    def default_descending(self, column: str) -> bool:
        return not SORT_COLUMNS[column].text

    # -- loading ----------------------------------------------------------
    def reload(self) -> None:
        known = None if self._workflows_loaded else self.ctx.workflows
        self._load(self.query_state, not self._workflows_loaded, known)

    def load(self, query: InstanceQuery) -> None:
        self._load(query, False, None)

    @work(thread=True, exclusive=True, group="instances")
    def _load(self, query: InstanceQuery, with_workflows: bool, known: list[str] | None) -> None:
        page = self.ctx.reader.instances(query)
        workflows = (known or self.ctx.reader.workflows()) if with_workflows else None
        self.deliver(self._show, page, workflows)

    def _show(self, page: InstancePage, workflows: list[str] | None) -> None:
        if page.query != self.query_state:
            return  # the user changed the query meanwhile; its own load follows
        if workflows is not None:
            self._workflows_loaded = True
            self.ctx.workflows = workflows
        self.page = page
        where = self.page_loaded(page.query, page.total)
        self.query_one(InstancesTable).show(page, cursor_to_top=where == "first")
        self.place_cursor(where)
        self.query_one("#page-bar", Static).update(describe_page(page))

    def query_changed(self) -> None:
        self.query_one(FilterBar).show(self.query_state)
        self.query_one("#page-bar", Static).update("Loading…")

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

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(OpenInstance(event.row_key.value))

    def selected_saga(self) -> tuple[str, str] | None:
        key = self.table().selected_key()
        if key is None or self.page is None:
            return None
        row = next((r for r in self.page.rows if r.instance_id == key), None)
        return key, row.label if row is not None else key

    # -- actions ----------------------------------------------------------
    def action_toggle_stuck(self) -> None:
        status = None if self.query_state.status == "stuck" else "stuck"
        self.set_query(self.query_state.with_(status=status))

    def action_model(self) -> None:
        workflow = self.query_state.workflow
        if workflow is None and self.page is not None:
            # All workflows listed: the selected instance's workflow.
            key = self.table().selected_key()
            row = next((r for r in self.page.rows if r.instance_id == key), None)
            workflow = row.workflow if row is not None else None
        if workflow is None:
            self.notify(
                "No workflow to show: select an instance, or pick a workflow with w", severity="warning"
            )
            return
        self.post_message(OpenModel(workflow))
