"""Appends batches to the store on a thread of its own.

DuckDB releases the GIL while it inserts, so the next batch is decoded and
extracted while the previous one is written: on two cores the two halves of
the work overlap. The queue is short, so memory stays bounded (a few
batches). Commits happen every ``commit_every`` records rather than per
batch: fewer WAL syncs, and large transactions let DuckDB write row groups
straight to the database file. With ``commit_every=None`` the appends join
the transaction the caller holds (``--strict``).

Only one thread touches the store at a time: the caller must ``sync()``
before using the store itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType

import pyarrow as pa

from choreo.store import Store

# Called on the writer thread with (events, inserted) after each append.
AppendedFn = Callable[[pa.Table, int], None]

_Job = tuple[pa.Table, pa.Table, AppendedFn]
_SYNC = "sync"
_STOP = "stop"


class BatchWriter:
    def __init__(self, store: Store, commit_every: int | None, depth: int = 2) -> None:
        self._store = store
        self._commit_every = commit_every
        self._queue: queue.Queue[tuple[str, _Job | None]] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._synced = threading.Event()
        self._txn: ExitStack | None = None
        self._in_txn = 0  # records appended in the open transaction
        self._thread = threading.Thread(target=self._run, name="choreo-import-writer", daemon=True)
        self._thread.start()

    # -- caller side ------------------------------------------------------
    def submit(self, events: pa.Table, identifiers: pa.Table, appended: AppendedFn) -> None:
        self._raise_if_failed()
        self._queue.put(("append", (events, identifiers, appended)))

    def sync(self) -> None:
        """Wait until everything submitted is appended and committed."""
        self._synced.clear()
        self._queue.put((_SYNC, None))
        self._synced.wait()
        self._raise_if_failed()

    def close(self, discard: bool = False) -> None:
        """Stop the thread; with ``discard``, an open transaction is rolled back."""
        if discard:
            self._error = self._error or _Discarded()
        self._queue.put((_STOP, None))
        self._thread.join()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(discard=exc is not None)
        if exc is None:
            self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None and not isinstance(self._error, _Discarded):
            raise self._error

    # -- writer thread ----------------------------------------------------
    def _run(self) -> None:
        while True:
            kind, item = self._queue.get()
            if kind in (_SYNC, _STOP):
                try:
                    self._end_transaction()
                except BaseException as exc:  # a failed commit: re-raised on the caller's thread
                    self._error = self._error or exc
                finally:
                    self._synced.set()
                if kind == _STOP:
                    return
                continue
            if self._error is not None or item is None:
                continue  # drain what was queued after a failure
            try:
                self._append(*item)
            except BaseException as exc:  # re-raised on the caller's thread
                self._error = exc
                self._end_transaction()

    def _append(self, events: pa.Table, ids: pa.Table, appended: AppendedFn) -> None:
        if self._commit_every is not None and self._txn is None:
            self._txn = ExitStack()
            self._txn.enter_context(self._store.transaction())
            self._in_txn = 0
        result = self._store.append(events, ids)
        appended(events, result.inserted)
        self._in_txn += events.num_rows
        if self._commit_every is not None and self._in_txn >= self._commit_every:
            self._end_transaction()

    def _end_transaction(self) -> None:
        """Commit the open transaction, or roll it back after a failure."""
        txn, self._txn = self._txn, None
        if txn is None:
            return
        if self._error is None:
            txn.close()
            return
        err = self._error
        txn.__exit__(type(err), err, err.__traceback__)


class _Discarded(Exception):
    """Marks a writer closed because the caller failed: roll back, raise nothing."""
