"""The model view's export: the workflow diagram via the Graphviz exporter."""

from __future__ import annotations

from pathlib import Path

from choreo.core.store import Store
from choreo.reconstruct.export import dot_render
from choreo.reconstruct.export.dot_workflow import workflow_dot
from choreo.reconstruct.export.filenames import safe_name


def export_workflow_diagram(store: Store, workflow: str, directory: Path) -> Path:
    """Write ``workflow``'s diagram into ``directory`` (SVG when Graphviz's
    ``dot`` is installed, else DOT); returns the file written."""
    fmt = dot_render.default_format()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{safe_name(workflow)}.{fmt}"
    return dot_render.write(workflow_dot(store, workflow), path, fmt).path
