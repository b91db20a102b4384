"""Readers beside a writer: published read-only snapshots of a store.

DuckDB lets one process open a store file for writing, and while it does no
other process may open the file at all, not even to read. A process that
keeps a store open (``choreo collect``, ``choreo tail``, the dashboard)
therefore publishes snapshots of it beside the file, and a command that finds
the store locked works on the newest snapshot of the process holding it
(``open_for_reading``): as it is when only reading, as a private copy when it
judges "now" or reconstructs (deleted when the command ends). Readers thus
see data a second or two old and never stop the writer's appends.

A snapshot is a copy of the store file as of one of its checkpoints, which
the writer brings up to date in place by copying only the blocks that
changed since (``choreo.core.snapshot_publish``, ``choreo.core.block_copy``):
a publish costs what was written since the last one, not the store's size.
There are two of them, ``<store>.snapshot`` and ``<store>.snapshot-2``,
locked the way DuckDB locks a database file: a reader cannot open one while
the writer updates it, and the writer does not update one a reader has open,
so while a reader holds one (a long export), the writer publishes into the
other. Each says who published it, when, and a generation that grows with
every publish; readers take the newest, and wait a moment for one being
published (it is about to be the newest). The snapshots are removed when the
writer closes; those left by a writer that was killed are ignored (they name
another pid) and replaced by the next writer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from choreo.core.errors import StoreError, StoreLockedError
from choreo.core.store import Store
from choreo.core.timefmt import duration

log = logging.getLogger(__name__)

SUFFIX = ".snapshot"
SECOND_SUFFIX = ".snapshot-2"
META_WRITER_PID = "snapshot_writer_pid"
META_WRITER = "snapshot_writer"  # what writes the store, e.g. "choreo collect"
META_PUBLISHED_MS = "snapshot_published_ms"
META_GENERATION = "snapshot_generation"  # grows with every publish, across both files
SNAPSHOT_KEYS = (META_WRITER_PID, META_WRITER, META_PUBLISHED_MS, META_GENERATION)

# A snapshot the writer is publishing into is locked for about as long as a
# publish takes; a reader waits up to this long for it before taking the other.
_PUBLISHING_WAIT_S = 3.0
_POLL_S = 0.02


def snapshot_path(store_path: str | Path) -> Path:
    """The first snapshot file (always the first one published)."""
    p = Path(store_path)
    return p.with_name(p.name + SUFFIX)


def snapshot_paths(store_path: str | Path) -> tuple[Path, Path]:
    """Both snapshot files of a store."""
    p = Path(store_path)
    return p.with_name(p.name + SUFFIX), p.with_name(p.name + SECOND_SUFFIX)


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log beside a database file."""
    return path.with_name(path.name + ".wal")


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: where, by whom, when."""

    path: Path
    writer_pid: int
    writer: str
    published_ms: int
    generation: int = 0

    def describe(self, now_ms: int | None = None) -> str:
        age = (int(time.time() * 1000) if now_ms is None else now_ms) - self.published_ms
        who = f"{self.writer} (pid {self.writer_pid})"
        return f"read from the snapshot {who} published {duration(max(0, age))} ago"


def snapshot_of(con: duckdb.DuckDBPyConnection, path: Path) -> Snapshot | None:
    """What the snapshot open on ``con`` says about itself; None when it is
    no snapshot (its writer's stamp missing)."""
    try:
        meta = dict(
            con.execute(
                "SELECT key, value FROM choreo_meta WHERE key IN (?, ?, ?, ?)", list(SNAPSHOT_KEYS)
            ).fetchall()
        )
    except duckdb.Error:
        return None
    if META_WRITER_PID not in meta or META_PUBLISHED_MS not in meta:
        return None
    writer = str(meta.get(META_WRITER, "a writer"))
    generation = int(meta.get(META_GENERATION, "0"))
    return Snapshot(path, int(meta[META_WRITER_PID]), writer, int(meta[META_PUBLISHED_MS]), generation)


class _Publishing:
    """The file is locked: its writer is publishing into it right now."""


_PUBLISHING = _Publishing()


def _probe(path: Path) -> Snapshot | _Publishing | None:
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        # Locked (being published), or gone between the look and the open.
        return _PUBLISHING if path.exists() and "lock" in str(exc).lower() else None
    except duckdb.Error:
        return None  # not ours, or damaged: never a snapshot to read
    try:
        return snapshot_of(con, path)
    finally:
        con.close()


def read_snapshot(path: Path) -> Snapshot | None:
    """The snapshot at ``path``, if one is there and readable now."""
    found = _probe(path)
    return found if isinstance(found, Snapshot) else None


def newest_snapshot(store_path: str | Path, *, writer_pid: int | None = None) -> Snapshot | None:
    """The newest snapshot of the store (of ``writer_pid``'s, when given).

    A file locked because its writer is publishing into it is waited for
    (briefly): once published it is the newest."""
    deadline = time.monotonic() + _PUBLISHING_WAIT_S
    while True:
        found = [_probe(p) for p in snapshot_paths(store_path)]
        snaps = [
            s for s in found if isinstance(s, Snapshot) and (writer_pid is None or s.writer_pid == writer_pid)
        ]
        if any(isinstance(s, _Publishing) for s in found) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
            continue
        return max(snaps, key=lambda s: (s.generation, s.published_ms)) if snaps else None


# -- reading -------------------------------------------------------------------
class SnapshotStore(Store):
    """A store opened from a writer's snapshot: the snapshot itself (read-only)
    or a private copy of it, deleted when closed."""

    snapshot: Snapshot
    private: bool

    def close(self) -> None:
        super().close()
        if self.private:
            for p in (self.path, wal_path(self.path)):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


def copy_in_child(src: Path, dst: Path) -> None:
    """Copy a file in a child process: DuckDB's lock on a file it has open is
    a POSIX record lock, which this process would lose the moment it closed
    any descriptor of that file, its own copy's included."""
    cp = shutil.which("cp")
    args = [cp, "--", str(src), str(dst)] if cp else [sys.executable, "-c", _PY_COPY, str(src), str(dst)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"copying {src} failed: {done.stderr.strip() or done.returncode}")


_PY_COPY = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"


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


class _Gone(Exception):
    """The snapshot changed hands or went away between finding and opening it."""


def _open_snapshot(snap: Snapshot, store_path: Path, *, writable: bool) -> SnapshotStore:
    """Open ``snap`` read-only (or copy it, holding it open meanwhile so that
    its writer cannot publish into it mid-copy). Raises _Gone when it is
    being published into or no longer its writer's: the caller looks again."""
    try:
        store = Store.open(snap.path, read_only=True)
    except StoreError:
        raise _Gone from None
    try:
        now = snapshot_of(store.con, snap.path)  # it may have been published again since
        if now is None or now.writer_pid != snap.writer_pid:
            raise _Gone
        if not writable:
            out = SnapshotStore(store.con, store.path, store.read_only, store.checkpoint_lock)
            out.snapshot, out.private = now, False
            return out
        _remove_abandoned_copies(store_path)
        target = _private_path(store_path)
        try:
            copy_in_child(snap.path, target)
            if wal_path(snap.path).exists():
                copy_in_child(wal_path(snap.path), wal_path(target))
        except OSError as exc:
            for p in (target, wal_path(target)):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            raise StoreError(f"cannot copy the snapshot of {store_path}: {exc}") from None
    except BaseException:
        store.close()
        raise
    store.close()
    private = Store.open(target)
    out = SnapshotStore(private.con, private.path, private.read_only, private.checkpoint_lock)
    out.snapshot, out.private = now, True
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
            snap = newest_snapshot(p, writer_pid=locked.pid)
            if snap is not None:
                try:
                    return _open_snapshot(snap, p, writable=writable)
                except _Gone:
                    pass
            if time.monotonic() > deadline:
                raise StoreLockedError(
                    f"{locked.message}; it publishes no snapshot for readers (an import, or another "
                    "reading command that did not finish)",
                    locked.pid,
                ) from None
        time.sleep(0.1)


def attach_for_reading(con: duckdb.DuckDBPyConnection, path: str | Path, alias: str) -> None:
    """ATTACH the store at ``path`` read-only as ``alias`` on ``con``: the store
    itself when free, else its writer's newest snapshot (as ``open_for_reading``
    finds it; a snapshot its writer starts publishing into meanwhile is looked
    for again)."""
    p = Path(path)
    deadline = time.monotonic() + 10.0
    while True:
        with open_for_reading(p, writable=False) as readable:
            source = readable.path
        escaped = str(source).replace("'", "''")
        try:
            con.execute(f"ATTACH '{escaped}' AS {alias} (READ_ONLY)")
            return
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
        time.sleep(_POLL_S)
