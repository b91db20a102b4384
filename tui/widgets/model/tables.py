"""The learned model of a workflow: its variants and directly-follows edges."""

from __future__ import annotations

from rich.text import Text

from choreo.reconstruct.query.records import ModelEdge, Variant
from choreo.tui.data.format import count, duration, share
from choreo.tui.widgets.common.table import Col, KeptTable, Row

_KIND_STYLE = {"failure": "red", "compensation": "yellow", "normal": ""}


def _path(v: Variant) -> Text:
    """The variant's steps; one whose instances are stuck ends where they wait."""
    t = Text(" → ".join(v.path))
    if v.stuck:
        t.append(" → ┄? stuck here", style="bold magenta")
    return t


class VariantsTable(KeptTable):
    COLUMNS = (
        Col("rank", "#", priority=0, max_width=4, right=True),
        Col("count", "instances", priority=0, max_width=9, right=True),
        Col("share", "share", priority=1, max_width=7, right=True),
        Col("stuck", "! stuck", priority=0, max_width=9, right=True),
        # The path is what a variant is: it takes all the room there is, on as many lines as it needs.
        Col("path", "path", priority=0, max_width=400, min_width=20, wrap=True),
    )

    def show(self, variants: list[Variant]) -> None:
        rows: list[Row] = [
            (
                str(v.rank),
                {
                    "rank": str(v.rank),
                    "count": count(v.count),
                    "share": share(v.share),
                    "stuck": Text(f"{count(v.stuck)} !", style="bold magenta")
                    if v.stuck
                    else Text("", style="dim"),
                    "path": _path(v),
                },
            )
            for v in variants
        ]
        self.show_rows(rows)


class EdgesTable(KeptTable):
    COLUMNS = (
        Col("src", "from", priority=0, max_width=28, min_width=12),
        Col("dst", "to", priority=0, max_width=28, min_width=12),
        Col("count", "count", priority=1, max_width=8, right=True),
        Col("p50", "p50", priority=2, max_width=8, right=True),
        Col("p95", "p95", priority=1, max_width=8, right=True),
        Col("p99", "p99", priority=2, max_width=8, right=True),
        Col("kind", "kind", priority=3, max_width=13),
    )

    def show(self, edges: list[ModelEdge]) -> None:
        rows: list[Row] = [
            (
                f"{e.src_type}\x1f{e.dst_type}",
                {
                    "src": e.src_type,
                    "dst": e.dst_type,
                    "count": count(e.count),
                    "p50": duration(e.p50_ms),
                    "p95": duration(e.p95_ms),
                    "p99": duration(e.p99_ms),
                    # Two parallel branches: the order they came in is no step.
                    "kind": Text("∥ parallel", style="cyan")
                    if e.concurrent
                    else Text(e.kind, style=_KIND_STYLE.get(e.kind, "")),
                },
            )
            for e in edges
        ]
        self.show_rows(rows)
