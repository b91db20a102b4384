"""Logging set-up: key=value lines to stderr or a file, never stdout
(stdout belongs to command output and to the TUI)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_FORMAT = "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def setup_logging(verbosity: int = 0, log_file: str | Path | None = None) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    handler: logging.Handler
    if log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
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
