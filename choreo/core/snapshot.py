"""Readers beside a writer: published read-only snapshots of a store.

DuckDB lets one process open a store file for writing, and while it does no
other process may open the file at all, not even to read. A process that
keeps a store open (``choreo collect``, ``choreo tail``, the dashboard)
therefore publishes a snapshot of it beside the file, ``<store>.snapshot``,
every couple of seconds while the store changes. A command that finds the
store locked works on the newest snapshot of the process holding it
(``open_for_reading``): as it is when only reading, as a private copy when it
judges "now" or reconstructs (deleted when the command ends). Readers thus
see data a few seconds old and never stop or slow the writer's appends.

Publishing is a CHECKPOINT and a copy of the file (the operating system
copies at disk speed; ``COPY FROM DATABASE`` rewrote a 1M-event store in 21 s
where the copy took 1.4 s). It is consistent because, with DuckDB's automatic
checkpoints deferred to the publisher, the database file changes only at a
checkpoint: commits go to the write-ahead log, and the blocks a large
uncommitted append may write early are ones the checkpointed state does not
use. The copy is opened and checked before it atomically replaces the
previous snapshot (a reader that has the old one open keeps reading it), and
the interval grows with the copy's cost, so copying takes at most about a
tenth of the writer's time. DuckDB refuses a CHECKPOINT while another write
transaction that changes tables (a reconstruction, an update) is open: the
writer's own reconstructions hold the store's ``checkpoint_lock``, so the
publisher waits for them to end; another writer's transaction makes it try
again a moment later, not an interval later. The snapshot is removed when the writer closes;
one left by a writer that was killed is ignored (it names its writer's pid).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import duckdb

from choreo.core.errors import StoreError, StoreLockedError
from choreo.core.logsetup import kv
from choreo.core.store import Store
from choreo.core.timefmt import duration

log = logging.getLogger(__name__)

SUFFIX = ".snapshot"
META_WRITER_PID = "snapshot_writer_pid"
META_WRITER = "snapshot_writer"  # what writes the store, e.g. "choreo collect"
META_PUBLISHED_MS = "snapshot_published_ms"

# While a publisher runs, DuckDB checkpoints only when it asks (see above).
_NO_AUTO_CHECKPOINT = "1000GB"
_BUSY_RETRY_S = 0.2  # after a CHECKPOINT refused for another write transaction
_BUSY_WARN_S = 60.0  # refused for this long without a break: worth a warning


def _writer_busy(exc: BaseException) -> bool:
    """DuckDB refused a CHECKPOINT because another write transaction is open."""
    return isinstance(exc, duckdb.TransactionException) and "other write transactions" in str(exc)


def snapshot_path(store_path: str | Path) -> Path:
    p = Path(store_path)
    return p.with_name(p.name + SUFFIX)


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: where, by whom, when."""

    path: Path
    writer_pid: int
    writer: str
    published_ms: int

    def describe(self, now_ms: int | None = None) -> str:
        age = (int(time.time() * 1000) if now_ms is None else now_ms) - self.published_ms
        who = f"{self.writer} (pid {self.writer_pid})"
        return f"read from the snapshot {who} published {duration(max(0, age))} ago"


def read_snapshot(path: Path) -> Snapshot | None:
    """The snapshot at ``path``, if one is there and readable."""
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None  # being replaced, or not ours: the caller waits for the next one
    try:
        meta = dict(
            con.execute(
                "SELECT key, value FROM choreo_meta WHERE key IN (?, ?, ?)",
                [META_WRITER_PID, META_WRITER, META_PUBLISHED_MS],
            ).fetchall()
        )
    except duckdb.Error:
        return None
    finally:
        con.close()
    if META_WRITER_PID not in meta or META_PUBLISHED_MS not in meta:
        return None
    writer = str(meta.get(META_WRITER, "a writer"))
    return Snapshot(path, int(meta[META_WRITER_PID]), writer, int(meta[META_PUBLISHED_MS]))


# -- publishing ----------------------------------------------------------------
def _copy_in_child(src: Path, dst: Path) -> None:
    """Copy the store file in a child process: DuckDB's lock on it is a POSIX
    record lock, which this process would lose the moment it closed any
    descriptor of the file, its own copy's included."""
    cp = shutil.which("cp")
    args = [cp, "--", str(src), str(dst)] if cp else [sys.executable, "-c", _PY_COPY, str(src), str(dst)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"copying {src} failed: {done.stderr.strip() or done.returncode}")


_PY_COPY = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"


class Publisher:
    """Publishes ``store``'s snapshot while the store changes, from a thread of
    its own (``with Publisher(store, "choreo collect"):`` around the writing)."""

    def __init__(self, store: Store, writer: str, *, interval: float = 2.0, max_share: float = 0.1) -> None:
        self.store = store
        self.writer = writer
        self.path = snapshot_path(store.path)
        self.interval = interval
        self.max_share = max_share  # of the time spent copying, at most
        self.published = 0  # snapshots published so far
        self.attempts = 0  # times it looked for changes to publish
        self.busy = 0  # attempts refused because another write transaction was open
        self.last_seconds = 0.0  # what the last one cost
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token: tuple[object, ...] | None = None
        self._threshold: str | None = None

    def __enter__(self) -> Publisher:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        row = self.store.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
        self._threshold = str(row[0]) if row else None
        self.store.con.execute(f"SET GLOBAL checkpoint_threshold = '{_NO_AUTO_CHECKPOINT}'")
        self._thread = threading.Thread(target=self._run, name="choreo-snapshot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing and remove the snapshot (readers then open the store itself)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._threshold is not None:
            self.store.con.execute(f"SET GLOBAL checkpoint_threshold = '{self._threshold}'")
            self._threshold = None
        for p in (self.path, self._tmp_path()):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def _tmp_path(self) -> Path:
        return self.path.with_name(self.path.name + ".tmp")

    def _run(self) -> None:
        delay = 0.0
        failures = 0
        busy_since: float | None = None
        while not self._stop.wait(delay):
            delay = max(self.interval, self.last_seconds / self.max_share)
            try:
                self.publish()
                failures = 0
                busy_since = None
            except (duckdb.Error, OSError) as exc:
                if _writer_busy(exc):
                    # The writer is in the middle of a transaction: soon it is not.
                    self.busy += 1
                    now = time.monotonic()
                    busy_since = now if busy_since is None else busy_since
                    if now - busy_since > _BUSY_WARN_S:
                        log.warning("snapshot not published %s", kv(busy_s=f"{now - busy_since:.0f}"))
                        busy_since = now
                    delay = _BUSY_RETRY_S
                    continue
                # Readers then see an older snapshot; the writer goes on.
                failures += 1
                if failures == 1 or failures % 30 == 0:  # said once, then now and then
                    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    log.warning("snapshot not published %s", kv(error=why, failures=failures))
            except Exception:
                # A bug here must not take the writer down with it; readers
                # then wait for the store itself.
                log.exception("snapshot publishing stopped")
                return

    def publish(self) -> bool:
        """Publish a snapshot now if the store changed since the last one."""
        self.attempts += 1
        cur = self.store.cursor()
        try:
            token = self._changes(cur.con)
            if token == self._token:
                return False
            t0 = time.perf_counter()
            tmp = self._tmp_path()
            with self.store.checkpoint_lock:
                cur.con.execute("CHECKPOINT")
                _copy_in_child(self.store.path, tmp)
        finally:
            cur.close()
        self._stamp(tmp)
        tmp.replace(self.path)
        self._token = token
        self.published += 1
        self.last_seconds = time.perf_counter() - t0
        log.debug("snapshot published %s", kv(path=self.path, s=f"{self.last_seconds:.3f}"))
        return True

    @staticmethod
    def _changes(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
        """Cheap facts that change whenever anything a reader sees changes."""
        row = con.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT max(ingested_ms) FROM events), "
            "(SELECT max(observed_ms) FROM group_offsets), (SELECT count(*) FROM topic_consumers), "
            "(SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM choreo_meta)"
        ).fetchone()
        return tuple(row) if row else ()

    def _stamp(self, tmp: Path) -> None:
        """Say who published the copy, and prove it opens and reads, before readers see it."""
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET enable_progress_bar = false")  # it draws on stdout (see Store.open)
            con.execute("SELECT count(*) FROM events").fetchall()
            con.executemany(
                "INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)",
                [
                    (META_WRITER_PID, str(os.getpid())),
                    (META_WRITER, self.writer),
                    (META_PUBLISHED_MS, str(int(time.time() * 1000))),
                ],
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()


# -- reading -------------------------------------------------------------------
class SnapshotStore(Store):
    """A store opened from a writer's snapshot: the snapshot itself (read-only)
    or a private copy of it, deleted when closed."""

    snapshot: Snapshot
    private: bool

    def close(self) -> None:
        super().close()
        if self.private:
            for p in (self.path, self.path.with_name(self.path.name + ".wal")):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


def _private_path(store_path: Path) -> Path:
    name = f".{store_path.name}.reader-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if os.access(store_path.parent, os.W_OK):
        return store_path.parent / name
    return Path(tempfile.gettempdir()) / name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _remove_abandoned_copies(store_path: Path) -> None:
    """Private copies of readers that were killed before they could delete theirs."""
    for p in store_path.parent.glob(f".{store_path.name}.reader-*"):
        parts = p.name.rsplit(".reader-", 1)[1].split("-")
        if parts and parts[0].isdigit() and not _alive(int(parts[0])):
            with contextlib.suppress(OSError):
                p.unlink()


def _open_snapshot(snap: Snapshot, store_path: Path, *, writable: bool) -> SnapshotStore:
    if writable:
        _remove_abandoned_copies(store_path)
        target = _private_path(store_path)
        try:
            shutil.copyfile(snap.path, target)
        except FileNotFoundError:
            raise  # replaced between finding and copying: the caller looks again
        except OSError as exc:
            raise StoreError(f"cannot copy the snapshot of {store_path}: {exc.strerror or exc}") from None
        store = Store.open(target)
        private = True
    else:
        store = Store.open(snap.path, read_only=True)
        private = False
    out = SnapshotStore(store.con, store.path, store.read_only, store.checkpoint_lock)
    out.snapshot = snap
    out.private = private
    return out


def open_for_reading(path: str | Path, *, writable: bool, wait: float = 10.0) -> Store:
    """Open a store for a command that reads it: the store itself when free,
    else the newest snapshot of the process writing it (``writable``: a
    private copy the command may judge or reconstruct in).

    A store held by a process that publishes no snapshot (a short command, an
    import, an older choreo) is waited for up to ``wait`` seconds, then it is
    a StoreLockedError.
    """
    p = Path(path)
    deadline = time.monotonic() + wait
    while True:
        try:
            return Store.open(p, read_only=not writable)
        except StoreLockedError as locked:
            snap = read_snapshot(snapshot_path(p))
            if snap is not None and (locked.pid is None or snap.writer_pid == locked.pid):
                try:
                    return _open_snapshot(snap, p, writable=writable)
                except FileNotFoundError:
                    continue
            if time.monotonic() > deadline:
                raise StoreLockedError(
                    f"{locked.message}; it publishes no snapshot for readers (an import, or another "
                    "reading command that did not finish)",
                    locked.pid,
                ) from None
        time.sleep(0.1)
