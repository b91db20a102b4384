"""Stuck instances and their causes. Whose move it is and how overdue are
the last columns to go when the terminal is narrow."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from choreo.reconstruct.query.records import StuckCause, StuckInfo
from choreo.tui.data.format import count, duration
from choreo.tui.widgets.common.table import Col, OpenableTable, Row

_STUCK = "bold magenta"


def stuck_row(r: StuckInfo) -> Row:
    overdue = r.overdue_ms if r.overdue_ms is not None else r.silent_ms
    return (
        r.instance_id,
        {
            "label": Text(r.label or r.instance_id, style="magenta"),
            "overdue": Text(duration(overdue), style=_STUCK),
            "service": r.responsible_service or "?",
            "expected": ", ".join(r.expected_types) or "?",
            "last": r.last_type,
            "workflow": r.workflow,
            "reason": r.reason,
            "silent": duration(r.silent_ms),
        },
    )


class StuckTable(OpenableTable):
    """Stuck instances; its column keys are the sort keys of ``query.stuck``."""

    COLUMNS = (
        Col("label", "! stuck instance", priority=0, max_width=30, min_width=14),
        Col("overdue", "overdue", priority=0, max_width=9, min_width=8, right=True),
        Col("service", "whose move", priority=0, max_width=24, min_width=10),
        Col("expected", "waiting for", priority=1, max_width=30, min_width=12),
        Col("last", "after", priority=2, max_width=24, min_width=10),
        Col("workflow", "workflow", priority=3, max_width=16),
        Col("reason", "reason", priority=4, max_width=24, min_width=14),
        Col("silent", "silent", priority=5, max_width=9, min_width=8, right=True),
    )

    def show(self, rows: Sequence[StuckInfo], *, cursor_to_top: bool = False) -> None:
        self.show_rows([stuck_row(r) for r in rows], cursor_to_top=cursor_to_top)


ALL_CAUSES = "*"  # the causes table's first row: every stuck instance


def cause_key(c: StuckCause) -> str:
    return "\x1f".join((c.workflow, c.last_type, c.responsible_service or "", c.reason))


class CausesTable(OpenableTable):
    """Stuck instances grouped by cause, as the report has them."""

    COLUMNS = (
        Col("count", "stuck", priority=0, max_width=7, right=True),
        Col("last", "after", priority=0, max_width=26, min_width=12),
        Col("service", "whose move", priority=0, max_width=24, min_width=10),
        Col("expected", "waiting for", priority=1, max_width=30, min_width=12),
        Col("reason", "reason", priority=2, max_width=24, min_width=14),
        Col("overdue", "most overdue", priority=2, max_width=12, right=True),
        # The step it is stuck after names the workflow already.
        Col("workflow", "workflow", priority=3, max_width=16),
    )

    def show(self, causes: Sequence[StuckCause]) -> None:
        total = sum(c.count for c in causes)
        rows: list[Row] = [
            (
                ALL_CAUSES,
                {
                    "count": Text(count(total), style=_STUCK),
                    "last": Text("every cause", style="bold"),
                    "service": "",
                    "expected": "",
                    "reason": "",
                    "overdue": duration(max((c.max_overdue_ms or 0 for c in causes), default=None)),
                    "workflow": "",
                },
            )
        ]
        for c in causes:
            rows.append(
                (
                    cause_key(c),
                    {
                        "count": Text(count(c.count), style=_STUCK),
                        "last": c.last_type,
                        "service": Text(c.responsible_service or "?", style="bold"),
                        "expected": ", ".join(c.expected_types) or "?",
                        "reason": c.reason,
                        "overdue": duration(c.max_overdue_ms),
                        "workflow": c.workflow,
                    },
                )
            )
        self.show_rows(rows)
