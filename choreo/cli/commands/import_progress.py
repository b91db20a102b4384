"""The progress bar of `choreo import`: one row per input on stderr with
bytes read (of the file as stored, so compressed bytes for .gz/.zst),
bytes/s and events/s."""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from choreo.collector.importers.source import Input
from choreo.core.safe_text import for_terminal


class ImportProgress:
    """Callable as the importer's ``on_progress``; does nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=20),
                DownloadColumn(),
                TransferSpeedColumn(),
                TextColumn("{task.fields[eps]:,.0f} events/s"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
        self._tasks: dict[str, tuple[TaskID, float]] = {}

    def update(self, inp: Input, raw_bytes: int, records: int) -> None:
        if self._progress is None:
            return
        if inp.label not in self._tasks:
            # A file name is user text: no control characters, no Rich markup.
            name = for_terminal(Path(inp.label).name)
            short = name if len(name) <= 24 else name[:23] + "…"
            task = self._progress.add_task(escape(short), total=inp.size, eps=0.0)
            self._tasks[inp.label] = (task, time.monotonic())
        task, started = self._tasks[inp.label]
        elapsed = max(time.monotonic() - started, 1e-6)
        self._progress.update(task, completed=raw_bytes, eps=records / elapsed)

    def __enter__(self) -> ImportProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
