"""One page of instances, as the SQL query returned it."""

from __future__ import annotations

from rich.text import Text

from choreo.tui.data.format import count, duration, timestamp
from choreo.tui.data.models import InstancePage, SortKey
from choreo.tui.widgets.common.status import status_text
from choreo.tui.widgets.common.table import Col, OpenableTable, Row

# Every column sorts the table (its header clicked, or o to cycle).
# (In the order o cycles through them.)
SORT_COLUMNS = {
    "started": SortKey.START,
    "age": SortKey.AGE,
    "duration": SortKey.DURATION,
    "events": SortKey.EVENTS,
    "status": SortKey.STATUS,
    "label": SortKey.LABEL,
    "workflow": SortKey.WORKFLOW,
    "last": SortKey.LAST,
}


class InstancesTable(OpenableTable):
    COLUMNS = (
        Col("status", "status", priority=0, max_width=13),
        Col("label", "instance", priority=0, max_width=32, min_width=14),
        Col("workflow", "workflow", priority=2, max_width=16),
        Col("age", "age", priority=1, max_width=8, right=True),
        Col("duration", "duration", priority=3, max_width=9, right=True),
        Col("events", "events", priority=4, max_width=7, right=True),
        Col("started", "started (UTC)", priority=5, max_width=18),
        Col("last", "last event", priority=2, max_width=40, min_width=12),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, paged=True)

    def show(self, page: InstancePage, *, cursor_to_top: bool = False) -> None:
        now = page.now_ms
        rows: list[Row] = []
        for r in page.rows:
            marks = ""
            if r.n_duplicates:
                marks += " D"
            if r.n_skewed:
                marks += " ~"
            rows.append(
                (
                    r.instance_id,
                    {
                        "status": status_text(r.status),
                        "label": Text(r.label + marks),
                        "workflow": r.workflow,
                        "age": duration(None if now is None else now - r.end_ms),
                        "duration": duration(r.duration_ms),
                        "events": count(r.n_events),
                        "started": timestamp(r.start_ms)[5:],
                        "last": f"{r.last_type} ({r.last_service})",
                    },
                )
            )
        self.show_rows(rows, cursor_to_top=cursor_to_top)
