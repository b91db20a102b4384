"""The most overdue stuck instances, so the on-call engineer sees them first."""

from __future__ import annotations

from rich.text import Text

from choreo.reconstruct.query.records import StuckInfo
from choreo.tui.data.format import duration
from choreo.tui.widgets.common.table import OpenableTable


class StuckTable(OpenableTable):
    def on_mount(self) -> None:
        self.add_column("! stuck instance", key="label")
        self.add_column("workflow", key="workflow")
        self.add_column("last event", key="last")
        self.add_column("waiting for", key="expected")
        self.add_column("from", key="service")
        self.add_column("overdue", key="overdue")

    def show(self, rows: tuple[StuckInfo, ...]) -> None:
        self.replace_rows(
            (
                r.instance_id,
                [
                    Text(r.label, style="magenta"),
                    r.workflow,
                    r.last_type,
                    ", ".join(r.expected_types) or "-",
                    r.responsible_service or "?",
                    Text(
                        duration(r.overdue_ms if r.overdue_ms is not None else r.silent_ms), justify="right"
                    ),
                ],
            )
            for r in rows
        )
