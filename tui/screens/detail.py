"""One instance: summary, stuck explanation, service lanes on a time axis,
and every event with its causal chain, headers and payload."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Header, Static

from choreo.tui.context import AppContext
from choreo.tui.data.models import DetailView
from choreo.tui.messages import OpenModel
from choreo.tui.screens.base import DataScreen
from choreo.tui.widgets.common.keybar import KeyBar
from choreo.tui.widgets.detail.event_pane import event_pane
from choreo.tui.widgets.detail.events import EventsTable
from choreo.tui.widgets.detail.summary import stuck_explanation, summary
from choreo.tui.widgets.detail.timeline import Timeline

# Below this many rows the timeline starts hidden (t shows it).
TIMELINE_MIN_HEIGHT = 32


class DetailScreen(DataScreen):
    BINDINGS = [
        Binding("t", "toggle_timeline", "Timeline"),
        Binding("m", "model", "Model"),
        Binding("c", "copy", "Copy id"),
        Binding("tab", "app.focus_next", "Event / pane", show=False),
    ]

    def __init__(self, ctx: AppContext, instance_id: str) -> None:
        super().__init__(ctx)
        self.instance_id = instance_id
        self.view: DetailView | None = None
        # By record key: raw events never change, their place in the instance may.
        self._identifiers: dict[tuple[str, int, int], list[tuple[str, str]]] = {}
        self._selected: tuple[str, int, int] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="summary")
        yield Static(id="stuck-panel")
        yield Timeline(id="timeline")
        with Horizontal(id="detail-body"):
            yield EventsTable(id="events")
            with VerticalScroll(id="event-scroll"):
                yield Static(id="event-pane")
        yield KeyBar()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#stuck-panel").display = False
        # On a short terminal the events and their payload need the rows; t shows the lanes.
        self.query_one(Timeline).display = self.app.size.height >= TIMELINE_MIN_HEIGHT
        self.query_one(EventsTable).focus()

    def reload(self) -> None:
        self._load(self.instance_id)

    @work(thread=True, exclusive=True, group="detail")
    def _load(self, instance_id: str) -> None:
        view = self.ctx.reader.detail(instance_id)
        self.deliver(self._show, view)

    def _show(self, view: DetailView | None) -> None:
        if view is None:
            self.query_one("#summary", Static).update(
                f"Instance {self.instance_id} is no longer in the store: reconstruction merged it into "
                "another or the store was rebuilt. Esc goes back."
            )
            return
        self.view = view
        detail = view.detail
        self.sub_title = detail.instance.label
        self.query_one("#summary", Static).update(summary(view))
        panel = self.query_one("#stuck-panel", Static)
        panel.display = detail.stuck is not None
        if detail.stuck is not None:
            panel.update(stuck_explanation(detail.stuck))
        self.query_one(Timeline).show(view)
        table = self.query_one(EventsTable)
        table.show(detail)
        self._show_event(table.selected_key())

    def _show_event(self, key: str | None) -> None:
        if self.view is None or key is None:
            return
        detail = self.view.detail
        seq = int(key)
        event = next((e for e in detail.events if e.seq == seq), None)
        if event is None:
            return
        self.query_one(Timeline).selected_seq = seq
        record = (event.topic, event.partition, event.offset)
        self._selected = record
        ids = self._identifiers.get(record)
        self.query_one("#event-pane", Static).update(event_pane(detail, event, ids))
        if ids is None:
            self._load_identifiers(record)

    @work(thread=True, exclusive=True, group="identifiers")
    def _load_identifiers(self, key: tuple[str, int, int]) -> None:
        ids = self.ctx.reader.event_identifiers(*key)
        self.deliver(self._identifiers_loaded, key, ids)

    def _identifiers_loaded(self, key: tuple[str, int, int], ids: list[tuple[str, str]]) -> None:
        self._identifiers[key] = ids
        if self._selected == key:
            self._show_event(self.query_one(EventsTable).selected_key())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_event(event.row_key.value)

    def action_toggle_timeline(self) -> None:
        timeline = self.query_one(Timeline)
        timeline.display = not timeline.display

    def selected_saga(self) -> tuple[str, str] | None:
        if self.view is None:
            return None
        return self.view.detail.instance.instance_id, self.view.detail.instance.label

    def action_model(self) -> None:
        if self.view is not None:
            self.post_message(OpenModel(self.view.detail.instance.workflow))
