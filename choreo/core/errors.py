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
    pass


class StoreVersionError(StoreError):
    pass


class NotAStoreError(StoreError):
    pass


class KafkaUnavailableError(ChoreoError):
    title = "kafka"


class InputError(ChoreoError):
    title = "input"


class ExportError(ChoreoError):
    title = "export"
