"""A workflow's learned model: variants with counts and share, the
directly-follows edges with counts and latencies, and a Graphviz export."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Label, Static

from choreo.core.errors import ChoreoError
from choreo.reconstruct.query.records import WorkflowModel
from choreo.tui.context import AppContext
from choreo.tui.data.format import count
from choreo.tui.data.models import InstanceQuery
from choreo.tui.messages import ExportFinished, OpenInstances
from choreo.tui.screens.base import DataScreen
from choreo.tui.widgets.common.keybar import KeyBar
from choreo.tui.widgets.model.tables import EdgesTable, VariantsTable


class ModelScreen(DataScreen):
    BINDINGS = [
        Binding("e", "export", "Export Graphviz"),
        Binding("i", "instances", "Instances"),
        Binding("tab", "app.focus_next", "Next table", show=False),
    ]

    def __init__(self, ctx: AppContext, workflow: str) -> None:
        super().__init__(ctx)
        self.workflow = workflow
        self.model: WorkflowModel | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Variants", classes="section", id="variants-title")
        yield VariantsTable(id="variants")
        yield Label("Directly-follows edges", classes="section", id="edges-title")
        yield EdgesTable(id="edges")
        yield Static(self._export_hint(), id="export-bar")
        yield KeyBar()

    def _export_hint(self) -> str:
        if self.ctx.export_workflow is None:
            return "Graphviz export is not available in this build"
        return f"e exports the workflow diagram to {self.ctx.export_dir.resolve()}"

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = f"model of {self.workflow}"
        self.query_one(VariantsTable).focus()

    def reload(self) -> None:
        self._load(self.workflow)

    @work(thread=True, exclusive=True, group="model")
    def _load(self, workflow: str) -> None:
        model = self.ctx.reader.model(workflow)
        self.deliver(self._show, model)

    def _show(self, model: WorkflowModel) -> None:
        self.model = model
        shown = len(model.variants)
        more = f", the {shown} most frequent shown" if shown < model.variants_total else ""
        self.query_one("#variants-title", Label).update(
            f"Variants of {model.workflow}: {count(model.variants_total)}{more}"
        )
        self.query_one(VariantsTable).show(model.variants)
        self.query_one("#edges-title", Label).update(
            f"Directly-follows edges: {len(model.edges)} between {len(model.nodes)} event types"
        )
        self.query_one(EdgesTable).show(model.edges)

    def action_instances(self) -> None:
        self.post_message(OpenInstances(InstanceQuery(workflow=self.workflow)))

    def action_export(self) -> None:
        if self.ctx.export_workflow is None:
            return
        self.query_one("#export-bar", Static).update("Exporting…")
        self._export(self.workflow)

    @work(thread=True, exclusive=True, group="export")
    def _export(self, workflow: str) -> None:
        assert self.ctx.export_workflow is not None
        try:
            with self.ctx.reader.view() as store:
                path = self.ctx.export_workflow(store, workflow, self.ctx.export_dir)
        except ChoreoError as exc:
            self.deliver(self._exported, ExportFinished(workflow, None, exc.one_line()))
            return
        self.deliver(self._exported, ExportFinished(workflow, str(path)))

    def _exported(self, message: ExportFinished) -> None:
        bar = self.query_one("#export-bar", Static)
        if message.path is not None:
            bar.update(f"Exported {message.workflow} to {Path(message.path).resolve()}")
        else:
            bar.update(f"Export failed: {message.error}")
        self.post_message(message)
