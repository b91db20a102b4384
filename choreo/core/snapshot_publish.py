"""Publishing a store's snapshots while it is written (see ``core.snapshot``).

A publish stamps the store (who publishes, when, the generation), makes it
CHECKPOINT, and brings one of the two snapshot files up to date with the
store file by copying only the blocks the checkpoints since changed
(``core.block_copy``, in a child process that locks the snapshot first). While
a publisher runs, DuckDB's automatic checkpoints are left to it, so the store
file does not change between its CHECKPOINT and the end of the copy: commits
go to the write-ahead log, and the blocks a large uncommitted append may
write early are ones the checkpointed state does not use. A snapshot is thus
the store as of one checkpoint, never a mix, and a publish costs what was
written since the last one, not the store's size: the checkpoint (work DuckDB
does anyway, by default every 16 MiB of log) and a copy of the blocks it wrote.

The newest file is brought up to date when no reader has it open, else the
other one (a reader holding one for long, such as a big export, never stops
publishing). DuckDB refuses a CHECKPOINT while another write transaction that
changes tables (a reconstruction, an update) is open: the writer's own
reconstructions hold the store's ``checkpoint_lock``, so the publisher waits
for them to end; another writer's transaction, or both files held by
readers, make it try again a moment later, not an interval later. It
publishes every ``interval`` seconds while the store changes, less often (up
to ``max_interval``) when copying costs more than ``max_share`` of the time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import duckdb

from choreo.core.logsetup import kv
from choreo.core.snapshot import (
    META_GENERATION,
    META_PUBLISHED_MS,
    META_WRITER,
    META_WRITER_PID,
    SNAPSHOT_KEYS,
    snapshot_paths,
    wal_path,
)
from choreo.core.store import Store

log = logging.getLogger(__name__)

# While a publisher runs, DuckDB checkpoints only when it asks (see above).
_NO_AUTO_CHECKPOINT = "1000GB"
_BUSY_RETRY_S = 0.2  # after a CHECKPOINT refused for another write transaction, or both files held
_BUSY_WARN_S = 60.0  # not published for this long without a break: worth a warning
_WAIT_FOR_NEWEST_S = 1.0  # for a reader to let go of the newest file, before taking the other
_POLL_S = 0.02
_CHECKPOINT_ANYWAY_S = 30.0  # both files held by readers this long: checkpoint without publishing


def _writer_busy(exc: BaseException) -> bool:
    """DuckDB refused a CHECKPOINT because another write transaction is open."""
    return isinstance(exc, duckdb.TransactionException) and "other write transactions" in str(exc)


class Busy(Exception):
    """Both snapshot files are held by readers: publish a moment later."""


class _Copier:
    """The child process that copies blocks (``core.block_copy``)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def ask(self, request: dict[str, object]) -> dict[str, object]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "choreo.core.block_copy"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except OSError as exc:
            self.close()
            raise OSError(f"the snapshot copier stopped: {exc}") from None
        if not line:
            self.close()
            raise OSError("the snapshot copier stopped")
        answer: dict[str, object] = json.loads(line)
        if "error" in answer:
            raise OSError(f"the snapshot copier failed: {answer['error']}")
        return answer

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


class Publisher:
    """Publishes ``store``'s snapshots while the store changes, from a thread of
    its own (``with Publisher(store, "choreo collect"):`` around the writing)."""

    def __init__(
        self,
        store: Store,
        writer: str,
        *,
        interval: float = 1.0,
        max_interval: float = 5.0,
        max_share: float = 0.1,
    ) -> None:
        self.store = store
        self.writer = writer
        self.paths = snapshot_paths(store.path)
        self.interval = interval
        self.max_interval = max_interval
        self.max_share = max_share  # of the time spent publishing, at most (up to max_interval)
        self.published = 0  # publishes so far
        self.attempts = 0  # times it looked for changes to publish
        self.busy = 0  # attempts put off: a CHECKPOINT refused, or both files held by readers
        # What the last publish cost, and of that its CHECKPOINT: work DuckDB would
        # do anyway (by default every 16 MiB of log), so not counted against max_share.
        self.last_seconds = 0.0
        self.last_checkpoint_seconds = 0.0
        self.last_copied = 0  # blocks the last publish copied
        self.generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token: tuple[object, ...] | None = None  # the store as last published
        self._newest: Path | None = None
        self._copier = _Copier()
        self._block_size: int | None = None
        self._threshold: str | None = None
        self._last_checkpoint = time.monotonic()

    def __enter__(self) -> Publisher:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        # Snapshots found now are a killed writer's: this process holds the store.
        self._remove_files()
        row = self.store.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
        self._threshold = str(row[0]) if row else None
        self.store.con.execute(f"SET GLOBAL checkpoint_threshold = '{_NO_AUTO_CHECKPOINT}'")
        self._thread = threading.Thread(target=self._run, name="choreo-snapshot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing and remove the snapshots (readers then open the store itself)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._copier.close()
        self._restore_checkpoints()
        self._remove_files()
        if self.published and not self.store.read_only:
            cur = self.store.cursor()
            try:
                # The stamp says nothing once the snapshots are gone.
                cur.con.execute("DELETE FROM choreo_meta WHERE key IN (?, ?, ?, ?)", list(SNAPSHOT_KEYS))
            finally:
                cur.close()

    def _restore_checkpoints(self) -> None:
        threshold, self._threshold = self._threshold, None
        if threshold is not None:
            cur = self.store.cursor()
            try:
                cur.con.execute(f"SET GLOBAL checkpoint_threshold = '{threshold}'")
            finally:
                cur.close()

    def _remove_files(self) -> None:
        for path in self.paths:
            for p in (path, wal_path(path), path.with_name(path.name + ".new")):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
        self._newest = None

    def _run(self) -> None:
        delay = 0.0
        failures = 0
        put_off_since: float | None = None
        while not self._stop.wait(delay):
            cost = self.last_seconds - self.last_checkpoint_seconds
            delay = min(self.max_interval, max(self.interval, cost / self.max_share))
            try:
                self.publish()
                failures = 0
                put_off_since = None
            except (Busy, duckdb.Error, OSError) as exc:
                if isinstance(exc, Busy) or _writer_busy(exc):
                    # A reader or a transaction holds what it needs: soon it does not.
                    self.busy += 1
                    now = time.monotonic()
                    put_off_since = now if put_off_since is None else put_off_since
                    if now - put_off_since > _BUSY_WARN_S:
                        log.warning("snapshot not published %s", kv(put_off_s=f"{now - put_off_since:.0f}"))
                        put_off_since = now
                    delay = _BUSY_RETRY_S
                    continue
                # Readers then see an older snapshot; the writer goes on.
                failures += 1
                if failures == 1 or failures % 30 == 0:  # said once, then now and then
                    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    log.warning("snapshot not published %s", kv(error=why, failures=failures))
            except Exception:
                # A bug here must not take the writer down with it; readers
                # then wait for the store itself, and DuckDB checkpoints again.
                log.exception("snapshot publishing stopped")
                self._restore_checkpoints()
                return

    def publish(self) -> bool:
        """Publish now if the store changed since the last publish; raises Busy
        when both files are held by readers (try again soon)."""
        self.attempts += 1
        cur = self.store.cursor()
        try:
            token = self._changes(cur.con)
            if token == self._token:
                return False
            t0 = time.perf_counter()
            target, copied = self._checkpoint_and_copy(cur)
        finally:
            cur.close()
        self._token = token
        self._newest = target
        self.published += 1
        self.last_copied = copied
        self.last_seconds = time.perf_counter() - t0
        log.debug("snapshot published %s", kv(path=target, blocks=copied, s=f"{self.last_seconds:.3f}"))
        return True

    def _checkpoint_and_copy(self, cur: Store) -> tuple[Path, int]:
        con = cur.con
        block_size = self._block_size_of(con)
        path = self._lock_a_file()
        if path is None:
            if time.monotonic() - self._last_checkpoint > _CHECKPOINT_ANYWAY_S:
                # Readers hold both for long: the write-ahead log must not grow without end.
                with self.store.checkpoint_lock:
                    con.execute("CHECKPOINT")
                self._last_checkpoint = time.monotonic()
            raise Busy("both snapshots are held by readers")
        try:
            with self.store.checkpoint_lock:
                self._stamp(cur)
                t0 = time.perf_counter()
                con.execute("CHECKPOINT")
                self._last_checkpoint = time.monotonic()
                self.last_checkpoint_seconds = time.perf_counter() - t0
                answer = self._copier.ask({"copy": str(self.store.path), "block_size": block_size})
        except BaseException:
            if self._copier.running:
                self._copier.ask({"release": True})
            raise
        copied = answer.get("copied")
        return path, int(copied) if isinstance(copied, int) else 0

    def _lock_a_file(self) -> Path | None:
        """Lock the newest file (the fewest blocks to copy), waiting a moment for
        a reader that has it open (readers hold it briefly, mostly), else the
        other one (a reader holds it for long, such as an export)."""
        newest, other = sorted(self.paths, key=lambda p: p != self._newest)
        deadline = time.monotonic() + _WAIT_FOR_NEWEST_S
        while True:
            if self._copier.ask({"lock": str(newest)}).get("locked"):
                return newest
            if time.monotonic() > deadline or self._stop.is_set():
                break
            time.sleep(_POLL_S)
        return other if self._copier.ask({"lock": str(other)}).get("locked") else None

    def _stamp(self, cur: Store) -> None:
        """Who publishes, when, which generation: in the store, so that the
        snapshot copied from it says so (and the stamp is as old as its data
        at the most: the checkpoint comes after it)."""
        self.generation += 1
        with cur.transaction() as con:
            con.executemany(
                "INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)",
                [
                    (META_WRITER_PID, str(os.getpid())),
                    (META_WRITER, self.writer),
                    (META_PUBLISHED_MS, str(int(time.time() * 1000))),
                    (META_GENERATION, str(self.generation)),
                ],
            )

    def _block_size_of(self, con: duckdb.DuckDBPyConnection) -> int:
        if self._block_size is None:
            row = con.execute(
                "SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()"
            ).fetchone()
            self._block_size = int(row[0]) if row else 262_144
        return self._block_size

    @staticmethod
    def _changes(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
        """Cheap facts that change whenever anything a reader sees changes
        (the publisher's own stamp left out)."""
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND NOT temporary ORDER BY table_name"
        ).fetchall()
        counts = ", ".join(f'(SELECT count(*) FROM main."{t[0]}")' for t in tables)
        keys = ", ".join(f"'{k}'" for k in SNAPSHOT_KEYS)
        row = con.execute(
            "SELECT (SELECT max(ingested_ms) FROM events), (SELECT max(observed_ms) FROM group_offsets), "
            "(SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM choreo_meta "
            f"WHERE key NOT IN ({keys}))" + (f", {counts}" if counts else "")
        ).fetchone()
        return (tuple(t[0] for t in tables), *row) if row else ()
