"""The instance's events in causal order, with their marks."""

from __future__ import annotations

from rich.text import Text

from choreo.reconstruct.query.records import InstanceDetail
from choreo.tui.data.format import duration
from choreo.tui.widgets.common.table import Cell, KeptTable


def marks(seq_skew: int, duplicate_of: int | None) -> Text:
    t = Text()
    if duplicate_of is not None:
        t.append(f"D dup of #{duplicate_of} ", style="yellow")
    if seq_skew:
        t.append(f"~ skew {duration(seq_skew)}", style="bold yellow")
    return t


class EventsTable(KeptTable):
    def on_mount(self) -> None:
        # Fixed widths: the columns do not jump when another instance is shown.
        for key, label, width in (
            ("seq", "#", 3),
            ("at", "at", 8),
            ("type", "event type", 24),
            ("service", "service", 20),
            ("marks", "marks", 22),
        ):
            self.add_column(label, key=key, width=width)

    def show(self, detail: InstanceDetail) -> None:
        events = detail.events
        t0 = min((e.adj_ts_ms for e in events), default=0)
        rows: list[tuple[str, list[Cell]]] = []
        for e in events:
            rows.append(
                (
                    str(e.seq),
                    [
                        Text(str(e.seq), justify="right"),
                        Text("+" + duration(e.adj_ts_ms - t0), justify="right"),
                        e.event_type,
                        e.service,
                        marks(e.skew_ms, e.duplicate_of_seq),
                    ],
                )
            )
        self.replace_rows(rows)
