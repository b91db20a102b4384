"""What the screens share, handed in by ``make_app``: screens and widgets
never construct their own services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui.data.reader import StoreReader
from tui.live import LiveFeed

# (workflow, directory) -> path of the written file. Raises ChoreoError on failure.
WorkflowExporter = Callable[[str, Path], Path]


@dataclass
class AppContext:
    reader: StoreReader
    store_label: str  # the store as the user named it
    live: LiveFeed | None = None
    export_workflow: WorkflowExporter | None = None
    export_dir: Path = field(default_factory=Path.cwd)
    log_path: str | None = None  # where logs go while the TUI runs
    version: int = 0  # bumped whenever live reconstruction changed the derived tables
