"""The workflows table: instances by status, events, live rate."""

from __future__ import annotations

from rich.text import Text

from choreo.reconstruct.query.records import STATUS_ORDER, WorkflowSummary
from choreo.tui.data.format import count, rate
from choreo.tui.widgets.common.status import count_text
from choreo.tui.widgets.common.table import OpenableTable

_HEADERS = {
    "completed": "✓ done",
    "failed": "✗ failed",
    "compensated": "↺ comp",
    "running": "▸ run",
    "stuck": "! stuck",
}


class WorkflowTable(OpenableTable):
    def on_mount(self) -> None:
        self.add_column("workflow", key="workflow")
        self.add_column("total", key="total")
        for s in STATUS_ORDER:
            self.add_column(_HEADERS[s], key=s)
        self.add_column("events", key="events")
        self.add_column("ev/s", key="rate")

    def show(self, workflows: tuple[WorkflowSummary, ...], rates: dict[str, float] | None) -> None:
        rows = []
        for w in workflows:
            name = Text(w.workflow, style="bold magenta" if w.stuck else "bold")
            cells = [name, Text(count(w.instances), justify="right")]
            cells += [count_text(w.by_status.get(s, 0), s) for s in STATUS_ORDER]
            cells.append(Text(count(w.events), justify="right"))
            cells.append(Text(rate(rates.get(w.workflow) if rates is not None else None), justify="right"))
            rows.append((w.workflow, cells))
        self.replace_rows(rows)
