"""One page of instances, as the SQL query returned it."""

from __future__ import annotations

from rich.text import Text

from choreo.tui.data.format import count, duration, timestamp
from choreo.tui.data.models import InstancePage, SortKey
from choreo.tui.widgets.common.status import status_text
from choreo.tui.widgets.common.table import Cell, OpenableTable

# Columns that sort the table when their header is clicked.
SORT_COLUMNS = {
    "started": SortKey.START,
    "age": SortKey.AGE,
    "duration": SortKey.DURATION,
    "events": SortKey.EVENTS,
}


class InstancesTable(OpenableTable):
    def on_mount(self) -> None:
        for key, label in (
            ("status", "status"),
            ("label", "instance"),
            ("workflow", "workflow"),
            ("age", "age"),
            ("duration", "duration"),
            ("events", "events"),
            ("started", "started (UTC)"),
            ("last", "last event"),
        ):
            self.add_column(label, key=key)

    def show(self, page: InstancePage) -> None:
        now = page.now_ms
        rows: list[tuple[str, list[Cell]]] = []
        for r in page.rows:
            marks = ""
            if r.n_duplicates:
                marks += " D"
            if r.n_skewed:
                marks += " ~"
            rows.append(
                (
                    r.instance_id,
                    [
                        status_text(r.status),
                        Text(r.label + marks),
                        r.workflow,
                        Text(duration(None if now is None else now - r.end_ms), justify="right"),
                        Text(duration(r.duration_ms), justify="right"),
                        Text(count(r.n_events), justify="right"),
                        timestamp(r.start_ms)[5:],
                        f"{r.last_type} ({r.last_service})",
                    ],
                )
            )
        self.replace_rows(rows)
