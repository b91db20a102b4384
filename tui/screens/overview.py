"""The overview: every workflow with its instances by status, and the most
overdue stuck instances. Selecting a workflow opens its instances."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Label, Static
from textual.worker import get_current_worker

from choreo.tui.context import AppContext
from choreo.tui.data.models import InstanceQuery, Overview
from choreo.tui.messages import OpenInstance, OpenInstances, OpenModel
from choreo.tui.screens.base import DataScreen
from choreo.tui.widgets.common.keybar import KeyBar
from choreo.tui.widgets.common.storebar import store_line
from choreo.tui.widgets.overview.stuck import StuckTable
from choreo.tui.widgets.overview.workflows import WorkflowTable


class OverviewScreen(DataScreen):
    BINDINGS = [
        Binding("s", "stuck", "Stuck"),
        Binding("a", "all", "All instances"),
        Binding("m", "model", "Model"),
        Binding("tab", "app.focus_next", "Next table", show=False),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.overview: Overview | None = None
        self._last_events: tuple[float, dict[str, int]] | None = None
        self._rates: dict[str, float] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="store-bar")
        yield Label("Workflows: Enter opens its instances, m its model", classes="section")
        yield WorkflowTable(id="workflows")
        yield Label("Stuck, most overdue first", classes="section", id="stuck-title")
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
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, ov)

    @work(thread=True, exclusive=True, group="overview-stuck")
    def _load_stuck(self) -> None:
        stuck = self.ctx.reader.most_stuck()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.query_one(StuckTable).show, stuck)

    def _show(self, ov: Overview) -> None:
        self.overview = ov
        self.ctx.workflows = [w.workflow for w in ov.workflows]
        if self.ctx.live is not None:
            self._update_rates(ov)
        self._show_store_bar()
        self.query_one(WorkflowTable).show(ov.workflows, self._rates)
        title = f"Stuck, most overdue first ({ov.stuck_total:,} in all; s lists them)"
        self.query_one("#stuck-title", Label).update(title if ov.stuck_total else "Stuck: none")

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

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        if event.data_table.id == "workflows":
            self.post_message(OpenInstances(InstanceQuery(workflow=key)))
        else:
            self.post_message(OpenInstance(key))

    def action_stuck(self) -> None:
        self.post_message(OpenInstances(InstanceQuery(status="stuck")))

    def action_all(self) -> None:
        self.post_message(OpenInstances(InstanceQuery()))

    def action_model(self) -> None:
        wf = self._workflow()
        if wf is not None:
            self.post_message(OpenModel(wf))
