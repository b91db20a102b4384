"""Typed user-facing errors: one base class carrying a one-line message and a title.

The CLI prints ``choreo: <title>: <message>`` on stderr and exits 2 for any of
these; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ChoreoError(Exception):
    """A user-facing error: bad input, bad config, unreachable cluster, unusable store."""

    title: str = "error"
    exit_code: int = 2

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        return f"{self.title}: {text}"


class ConfigError(ChoreoError):
    title = "config"


class StoreError(ChoreoError):
    title = "store"


class StoreLockedError(StoreError):
    """Another process has the store open for writing."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid  # the process holding the store, when DuckDB names it


class StoreVersionError(StoreError):
    """Written by a newer choreo or DuckDB."""


class NotAStoreError(StoreError):
    """A file that is not a choreo store (not DuckDB, another database, a directory)."""


class StoreDamagedError(StoreError):
    """A truncated or corrupt store file, or store metadata that makes no sense."""


class StoreFullError(StoreError):
    """Writing failed for lack of room (disk full, quota, file size limit); what
    was stored before is kept."""


class StoreMemoryError(StoreError):
    """DuckDB ran out of the memory it was given."""


class StoreUnwritableError(StoreError):
    """The store's file or directory cannot be written (permissions, read-only)."""


class KafkaUnavailableError(ChoreoError):
    title = "kafka"


class InputError(ChoreoError):
    title = "input"


class ExportError(ChoreoError):
    title = "export"
