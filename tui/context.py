"""What the screens share, handed in by ``make_app``: screens and widgets
never construct their own services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from choreo.cli.live_feed import LiveFeed
from choreo.core.store import Store
from choreo.tui.data.reader import StoreReader

# (store, workflow, directory) -> path of the written file. Raises ChoreoError on failure.
WorkflowExporter = Callable[[Store, str, Path], Path]


@dataclass(frozen=True)
class Reconstruction:
    """How the dashboard brings a store's derived tables up to date before
    showing it; each call gets the store on a connection of its own."""

    is_stale: Callable[[Store], bool]
    rebuild: Callable[[Store], object]


@dataclass
class AppContext:
    reader: StoreReader
    store_label: str  # the store as the user named it
    live: LiveFeed | None = None
    export_workflow: WorkflowExporter | None = None
    export_dir: Path = field(default_factory=Path.cwd)
    log_path: str | None = None  # where logs go while the TUI runs
    version: int = 0  # bumped whenever live reconstruction changed the derived tables
    workflows: list[str] | None = None  # as the overview last saw them
