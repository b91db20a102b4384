"""Every way a store file can fail, as a typed one-line error.

DuckDB reports a damaged, full or locked file as a generic exception at
whatever statement first touches the bad block, anywhere in choreo.
``store_failure`` maps such an exception to the StoreError subclass that
says what happened; exceptions that are not store failures (a mistake in
choreo's own SQL: binder, parser, catalog errors) map to None and stay bugs
with their traceback. It is applied where a store is left (``Store.__exit__``),
where one is opened, where a writer thread's failure surfaces, and as the
CLI's last resort.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from choreo.core.errors import (
    StoreDamagedError,
    StoreError,
    StoreFullError,
    StoreLockedError,
    StoreMemoryError,
    StoreUnwritableError,
)

# Substrings of DuckDB's messages (lower case), most specific first.
_FULL = ("no space left on device", "file too large", "disk quota exceeded")
_DAMAGED = (
    "could not read enough bytes",
    "corrupt database file",
    "checksum",
    "the file is not a valid duckdb database",
    "invalid database",
    "wal file",
    "replaying wal",
    "serialization error",
    "deserialize",
)
_MEMORY = ("out of memory", "failed to pin block", "could not allocate")
_UNWRITABLE = ("permission denied", "read-only file system", "read only file system")
_LOCKED = ("could not set lock",)
_INVALIDATED = "database has been invalidated"


def _detail(text: str) -> str:
    """The cause DuckDB gives, on one line (an invalidated database names its original error)."""
    _, sep, original = text.partition("Original error:")
    cause = original if sep else text
    return " ".join(cause.strip().strip('"').split())[:300]


def store_failure(exc: BaseException, path: Path | str | None = None) -> StoreError | None:
    """The typed error ``exc`` means for the store at ``path`` (None: not a store failure)."""
    if isinstance(exc, StoreError):
        return exc
    if not isinstance(exc, duckdb.Error):
        return None
    if isinstance(exc, duckdb.BinderException | duckdb.ParserException | duckdb.CatalogException):
        return None
    text = str(exc)
    low = text.lower()
    where = f"{path}: " if path is not None else "store: "
    detail = _detail(text)
    if any(s in low for s in _FULL):
        return StoreFullError(
            f"{where}out of disk space (or over a file size limit) while writing; "
            f"what was stored before is kept ({detail})"
        )
    if any(s in low for s in _LOCKED):
        return StoreLockedError(f"{where}in use by another process ({detail})")
    if any(s in low for s in _UNWRITABLE):
        return StoreUnwritableError(f"{where}cannot be written ({detail})")
    if isinstance(exc, duckdb.OutOfMemoryException) or any(s in low for s in _MEMORY):
        return StoreMemoryError(f"{where}DuckDB ran out of memory ({detail})")
    if any(s in low for s in _DAMAGED):
        return StoreDamagedError(
            f"{where}the store file is damaged (truncated or corrupt): {detail}; "
            "restore it from a copy, or collect/import into a new --db"
        )
    if _INVALIDATED in low or isinstance(
        exc, duckdb.FatalException | duckdb.IOException | duckdb.TransactionException
    ):
        return StoreError(f"{where}cannot use the store: {detail}")
    return None
