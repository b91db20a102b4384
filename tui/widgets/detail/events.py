"""The instance's events in causal order, with their marks."""

from __future__ import annotations

from rich.text import Text

from choreo.reconstruct.query.records import InstanceDetail
from choreo.tui.data.format import duration
from choreo.tui.widgets.common.table import Col, KeptTable, Row


def marks(seq_skew: int, duplicate_of: int | None) -> Text:
    t = Text()
    if duplicate_of is not None:
        t.append(f"D dup of #{duplicate_of} ", style="yellow")
    if seq_skew:
        t.append(f"~ skew {duration(seq_skew)}", style="bold yellow")
    return t


class EventsTable(KeptTable):
    COLUMNS = (
        Col("seq", "#", priority=0, max_width=3, right=True),
        Col("marks", "", priority=0, max_width=1),
        Col("at", "at", priority=1, max_width=8, min_width=6, right=True),
        Col("type", "event type", priority=0, max_width=26, min_width=12),
        Col("service", "service", priority=2, max_width=20),
        Col("detail", "marks", priority=3, max_width=22),
    )

    def show(self, detail: InstanceDetail) -> None:
        events = detail.events
        t0 = min((e.adj_ts_ms for e in events), default=0)
        rows: list[Row] = []
        for e in events:
            # One-letter mark in its own column, so it survives at 80 columns.
            if e.duplicate_of_seq is not None:
                mark = Text("D", style="yellow")
            elif e.skew_ms:
                mark = Text("~", style="bold yellow")
            else:
                mark = Text("")
            rows.append(
                (
                    str(e.seq),
                    {
                        "seq": str(e.seq),
                        "marks": mark,
                        "at": "+" + duration(e.adj_ts_ms - t0),
                        "type": e.event_type,
                        "service": e.service,
                        "detail": marks(e.skew_ms, e.duplicate_of_seq),
                    },
                )
            )
        self.show_rows(rows)
