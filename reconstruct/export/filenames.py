"""File names for exports: derived from workflow names and instance ids that
records chose, so they are reduced to characters every file system accepts."""

from __future__ import annotations

import re

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of a workflow name or instance id."""
    return _SAFE.sub("_", text).strip("_") or "export"
