"""``?``: the keys of every screen and what the marks and colours mean."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from choreo.reconstruct.query.records import STATUS_ORDER
from choreo.tui.widgets.common.status import status_text
from choreo.tui.widgets.common.table import GONE

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Everywhere",
        [
            ("?", "this help"),
            ("/", "find instances: part of an id or label as you type, or any identifier value"),
            ("Esc", "back to the previous screen (in a filter box: leave it, the filter applied)"),
            ("q, Ctrl-C", "quit (live: finishes the batch and commits first)"),
            ("Tab", "next table or pane"),
        ],
    ),
    (
        "Tables",
        [
            ("g / Home", "first row (of all pages)"),
            ("G / End", "last row (of all pages)"),
            (
                "o / r",
                "sort by the next column / reverse (or click a column's header); the cursor goes to the top",
            ),
            ("[ / ]", "previous / next page"),
            ("c", "copy the selected instance's id (the value of its label, e.g. the order id)"),
        ],
    ),
    (
        "Overview",
        [
            ("Enter", "instances of the selected workflow (or open the selected stuck instance)"),
            ("s", "stuck instances grouped by cause"),
            ("a", "all instances"),
            ("m", "model of the selected workflow"),
        ],
    ),
    (
        "Stuck",
        [
            ("Enter", "on a cause: into its instances; on an instance: open it"),
            ("Tab", "between the causes and their instances"),
        ],
    ),
    (
        "Instances",
        [
            ("Enter", "open the instance"),
            ("w / f", "filter by workflow / by status (a list to pick from)"),
            ("s", "stuck only, on and off"),
            ("m", "model of the filtered workflow (or of the selected instance's)"),
        ],
    ),
    (
        "Instance",
        [
            ("↑ ↓", "select an event: its payload, identifiers, headers and causal chain are shown"),
            ("t", "hide or show the timeline (hidden at first below 32 rows)"),
            ("m", "model of its workflow"),
        ],
    ),
    ("Model", [("e", "export the workflow diagram (Graphviz)"), ("i", "instances of the workflow")]),
]


def help_text(log_path: str | None) -> Group:
    parts: list[Table | Text] = []
    for title, keys in KEYS:
        t = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
        t.add_column(style="bold", width=8)
        t.add_column()
        for key, what in keys:
            t.add_row(key, what)
        parts.append(t)
    legend = Text("\nStatus: ")
    for s in STATUS_ORDER:
        legend.append_text(status_text(s))
        legend.append("  ")
    legend.append(
        "\nMarks: D a redelivered duplicate (counted once), ~ a clock-skew adjustment, "
        "● an event on the timeline, ━ the time its service took to react to its cause, ─ the time "
        "since the event before (no causation link), ┄? where a stuck instance waits, "
        f"{GONE}a selected row that has left the list (it stays until the cursor moves)."
    )
    parts.append(legend)
    if log_path:
        parts.append(Text(f"\nLogs go to {log_path} while the dashboard runs.", style="dim"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, log_path: str | None) -> None:
        super().__init__()
        self._log_path = log_path

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self._log_path), id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "choreo keys"
        box.border_subtitle = "Esc closes"

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
