"""The learned model of a workflow: its variants and directly-follows edges."""

from __future__ import annotations

from rich.text import Text

from choreo.reconstruct.query.records import ModelEdge, Variant
from choreo.tui.data.format import count, duration, share
from choreo.tui.widgets.common.table import KeptTable

_KIND_STYLE = {"failure": "red", "compensation": "yellow", "normal": ""}


class VariantsTable(KeptTable):
    def on_mount(self) -> None:
        self.add_column("#", key="rank")
        self.add_column("instances", key="count")
        self.add_column("share", key="share")
        self.add_column("path", key="path")

    def show(self, variants: list[Variant]) -> None:
        self.replace_rows(
            (
                str(v.rank),
                [
                    Text(str(v.rank), justify="right"),
                    Text(count(v.count), justify="right"),
                    Text(share(v.share), justify="right"),
                    " → ".join(v.path),
                ],
            )
            for v in variants
        )


class EdgesTable(KeptTable):
    def on_mount(self) -> None:
        for key, label in (
            ("src", "from"),
            ("dst", "to"),
            ("count", "count"),
            ("p50", "p50"),
            ("p95", "p95"),
            ("p99", "p99"),
            ("kind", "kind"),
        ):
            self.add_column(label, key=key)

    def show(self, edges: list[ModelEdge]) -> None:
        self.replace_rows(
            (
                f"{e.src_type}\x1f{e.dst_type}",
                [
                    e.src_type,
                    e.dst_type,
                    Text(count(e.count), justify="right"),
                    Text(duration(e.p50_ms), justify="right"),
                    Text(duration(e.p95_ms), justify="right"),
                    Text(duration(e.p99_ms), justify="right"),
                    Text(e.kind, style=_KIND_STYLE.get(e.kind, "")),
                ],
            )
            for e in edges
        )
