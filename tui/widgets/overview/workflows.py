"""The workflows table: instances by status, events, live rate."""

from __future__ import annotations

from rich.text import Text

from choreo.reconstruct.query.records import WorkflowSummary
from choreo.tui.data.format import count, rate
from choreo.tui.widgets.common.status import count_text
from choreo.tui.widgets.common.table import Cell, Col, OpenableTable, Row


class WorkflowTable(OpenableTable):
    # Stuck and running first: what needs attention is the last to go.
    COLUMNS = (
        Col("workflow", "workflow", priority=0, max_width=24, min_width=10),
        Col("total", "total", priority=1, max_width=9, right=True),
        Col("stuck", "! stuck", priority=0, max_width=9, right=True),
        Col("running", "▸ run", priority=1, max_width=9, right=True),
        Col("failed", "✗ failed", priority=2, max_width=9, right=True),
        Col("compensated", "↺ comp", priority=2, max_width=9, right=True),
        Col("completed", "✓ done", priority=2, max_width=9, right=True),
        Col("events", "events", priority=3, max_width=11, right=True),
        Col("rate", "ev/s", priority=4, max_width=8, right=True),
    )

    def show(self, workflows: tuple[WorkflowSummary, ...], rates: dict[str, float] | None) -> None:
        rows: list[Row] = []
        for w in workflows:
            cells: dict[str, Cell] = {
                "workflow": Text(w.workflow, style="bold magenta" if w.stuck else "bold"),
                "total": count(w.instances),
                "events": count(w.events),
                "rate": rate(rates.get(w.workflow) if rates is not None else None),
            }
            for s in ("stuck", "running", "failed", "compensated", "completed"):
                cells[s] = count_text(w.by_status.get(s, 0), s)
            rows.append((w.workflow, cells))
        self.show_rows(rows)
