"""The overview: every workflow with its instances by status and, in all the
room left, the stuck instances, most overdue first. Enter on a workflow
opens its instances, on a stuck instance that instance; s groups the stuck
instances by cause."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Label, Static

from choreo.reconstruct.query.records import StuckInfo
from choreo.tui.context import AppContext
from choreo.tui.data.models import InstanceQuery, Overview
from choreo.tui.messages import OpenInstance, OpenInstances, OpenModel, OpenStuck
from choreo.tui.screens.base import DataScreen
from choreo.tui.widgets.common.keybar import KeyBar
from choreo.tui.widgets.common.storebar import store_line
from choreo.tui.widgets.overview.workflows import WorkflowTable
from choreo.tui.widgets.stuck.tables import StuckTable

# Enough rows to fill a tall terminal; more are one `s` away.
STUCK_ROWS = 200


def stuck_title(total: int, shown: int) -> str:
    """The stuck table's title; it fits 80 columns whatever the counts."""
    which = f"the {shown:,} most overdue here" if shown < total else "most overdue first"
    return f"Stuck: {total:,}, {which}; s groups them by cause"


class OverviewScreen(DataScreen):
    BINDINGS = [
        Binding("s", "stuck", "Stuck by cause"),
        Binding("a", "all", "All"),
        Binding("m", "model", "Model"),
        Binding("c", "copy", "Copy id"),
        Binding("tab", "app.focus_next", "Next table", show=False),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.overview: Overview | None = None
        self._last_events: tuple[float, dict[str, int]] | None = None
        self._rates: dict[str, float] | None = None
        self._stuck_shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="store-bar")
        yield Label("Workflows: Enter opens its instances, m its model", classes="section")
        yield WorkflowTable(id="workflows")
        yield Label("Stuck", classes="section", id="stuck-title")
        yield StuckTable(id="stuck")
        yield KeyBar()

    def on_mount(self) -> None:
        super().on_mount()
        if self.ctx.live is not None:
            # Rate, lag and connection change between reconstructions too.
            self.set_interval(1.0, self._show_store_bar)

    def reload(self) -> None:
        # Two queries in parallel; each part shows as soon as it is there.
        self._load()
        self._load_stuck()

    @work(thread=True, exclusive=True, group="overview")
    def _load(self) -> None:
        ov = self.ctx.reader.overview()
        self.deliver(self._show, ov)

    @work(thread=True, exclusive=True, group="overview-stuck")
    def _load_stuck(self) -> None:
        stuck = self.ctx.reader.most_stuck(STUCK_ROWS)
        self.deliver(self._show_stuck, stuck)

    def _show_stuck(self, stuck: tuple[StuckInfo, ...]) -> None:
        table = self.query_one(StuckTable)
        table.show(stuck)
        self._stuck_shown = len(stuck)
        if table.row_count and self.focused is None:
            table.focus()
        self._show_stuck_title()

    def _show_stuck_title(self) -> None:
        ov = self.overview
        if ov is None:
            return
        label = self.query_one("#stuck-title", Label)
        if not ov.stuck_total:
            label.update("Stuck: none")
            return
        label.update(stuck_title(ov.stuck_total, self._stuck_shown))

    def _show(self, ov: Overview) -> None:
        self.overview = ov
        self.ctx.workflows = [w.workflow for w in ov.workflows]
        if self.ctx.live is not None:
            self._update_rates(ov)
        self._show_store_bar()
        self.query_one(WorkflowTable).show(ov.workflows, self._rates)
        self._show_stuck_title()

    def _show_store_bar(self) -> None:
        if self.overview is None:
            return
        live = self.ctx.live
        self.query_one("#store-bar", Static).update(
            store_line(
                self.ctx.store_label,
                self.overview,
                live.source if live else None,
                live.progress if live else None,
                live.note if live else None,
            )
        )

    def _update_rates(self, ov: Overview) -> None:
        """Events per second per workflow, from the change since the last refresh."""
        now = time.monotonic()
        current = {w.workflow: w.events for w in ov.workflows}
        if self._last_events is not None:
            then, before = self._last_events
            dt = now - then
            if dt > 0.2:
                self._rates = {wf: max(0, n - before.get(wf, 0)) / dt for wf, n in current.items()}
                self._last_events = (now, current)
        else:
            self._rates = dict.fromkeys(current, 0.0)
            self._last_events = (now, current)

    def _workflow(self) -> str | None:
        return self.query_one(WorkflowTable).selected_key()

    def selected_saga(self) -> tuple[str, str] | None:
        table = self.query_one(StuckTable)
        key = table.selected_key()
        if key is None:
            return None
        cells = table.row_data(key)
        label = cells.get("label") if cells else None
        return key, str(label) if label is not None else key

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        if event.data_table.id == "workflows":
            self.post_message(OpenInstances(InstanceQuery(workflow=key)))
        else:
            self.post_message(OpenInstance(key))

    def action_stuck(self) -> None:
        self.post_message(OpenStuck())

    def action_all(self) -> None:
        self.post_message(OpenInstances(InstanceQuery()))

    def action_model(self) -> None:
        wf = self._workflow()
        if wf is not None:
            self.post_message(OpenModel(wf))
