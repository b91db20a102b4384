"""What the screens share, handed in by ``make_app``: screens and widgets
never construct their own services."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from choreo.core.progress import CollectProgress
from choreo.core.store import Store
from choreo.reconstruct.query.asof import AsOf
from choreo.tui.data.reader import StoreReader
from choreo.tui.type_ahead import TypeAhead

# (store, workflow, directory) -> path of the written file. Raises ChoreoError on failure.
WorkflowExporter = Callable[[Store, str, Path], Path]


class LiveSource(Protocol):
    """What the dashboard needs of a live collection (``choreo tail`` hands in
    one): the dashboard never talks to Kafka or runs the engine itself."""

    @property
    def source(self) -> str:
        """What is tapped, e.g. the bootstrap address."""

    @property
    def progress(self) -> CollectProgress | None:
        """The collector's latest progress snapshot."""

    @property
    def running(self) -> bool:
        """True while the collector runs."""

    @property
    def note(self) -> str | None:
        """What to say instead of collector progress (e.g. how old the followed snapshot is)."""

    def collect(self, stop: threading.Event) -> object:
        """Collect until ``stop`` is set (called on a worker thread)."""

    def update(self) -> bool:
        """Bring the derived tables up to date; True when they changed (worker thread)."""


@dataclass(frozen=True)
class Reconstruction:
    """How the dashboard brings a store's derived tables up to date and judges
    them at its "now": when it opens and, while "now" is the wall clock, every
    few seconds. Each call gets the store on a connection of its own."""

    is_stale: Callable[[Store], bool]
    # Rebuild when stale, else re-judge the open instances; returns the "now" used.
    bring_up_to_date: Callable[[Store], AsOf]


@dataclass
class AppContext:
    reader: StoreReader
    store_label: str  # the store as the user named it
    live: LiveSource | None = None
    export_workflow: WorkflowExporter | None = None
    export_dir: Path = field(default_factory=Path.cwd)
    log_path: str | None = None  # where logs go while the TUI runs
    version: int = 0  # bumped whenever live reconstruction changed the derived tables
    workflows: list[str] | None = None  # as the overview last saw them
    type_ahead: TypeAhead = field(default_factory=TypeAhead)  # keys typed after `/` (see type_ahead.py)
