"""Logging set-up: key=value lines to stderr or a file, never stdout
(stdout belongs to command output and to the TUI)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from choreo.core.safe_text import terminal_lines

_FORMAT = "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


class SafeFormatter(logging.Formatter):
    """Log lines carry record text (bad-line reasons, broker errors): control
    characters in it are escaped, in a log file too (it is read in a terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_lines(super().format(record))


def setup_logging(verbosity: int = 0, log_file: str | Path | None = None) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    handler: logging.Handler
    if log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter(_FORMAT))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)


def kv(**fields: object) -> str:
    """Render fields as ``k=v`` pairs for a log message (values with spaces quoted)."""
    parts = []
    for k, v in fields.items():
        s = str(v)
        if not s or any(c in s for c in ' ="'):
            s = '"' + s.replace('"', '\\"') + '"'
        parts.append(f"{k}={s}")
    return " ".join(parts)


def default_log_file() -> Path:
    """Where logs go while a full-screen UI owns the terminal."""
    import platformdirs

    return platformdirs.user_log_path("choreo") / "choreo.log"


@contextmanager
def logs_to_file(path: Path) -> Iterator[str]:
    """While the TUI runs, log lines written to the terminal would tear its
    screen: send them to ``path`` instead (unless they already go to a file).
    Yields where the logs go."""
    root = logging.getLogger()
    to_terminal = [h for h in root.handlers if not isinstance(h, logging.FileHandler)]
    files = [h for h in root.handlers if isinstance(h, logging.FileHandler)]
    if files and not to_terminal:
        yield files[0].baseFilename
        return
    # No handler at all would mean logging's last resort: stderr.
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(SafeFormatter(_FORMAT))
    for h in to_terminal:
        root.removeHandler(h)
    root.addHandler(handler)
    try:
        yield str(path)
    finally:
        root.removeHandler(handler)
        handler.close()
        for h in to_terminal:
            root.addHandler(h)
