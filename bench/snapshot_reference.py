"""The reference for bench/snapshot.py: the whole-file-copy publisher choreo
used before snapshots were brought up to date in place (main 51a7beb,
choreo/core/snapshot.py), kept here unchanged in substance so that both are
measured in the same run. Each publish is a CHECKPOINT and a copy of the
whole store file, spaced so that copying takes at most a tenth of the time;
DuckDB's automatic checkpoints are left to it. Readers read ``<store>.snapshot``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import duckdb

from choreo.core.snapshot import (
    META_PUBLISHED_MS,
    META_WRITER,
    META_WRITER_PID,
    copy_in_child,
    snapshot_path,
)
from choreo.core.store import Store

_NO_AUTO_CHECKPOINT = "1000GB"
_BUSY_RETRY_S = 0.2


class CopyPublisher:
    def __init__(self, store: Store, writer: str, *, interval: float = 2.0, max_share: float = 0.1) -> None:
        self.store = store
        self.writer = writer
        self.path = snapshot_path(store.path)
        self.interval = interval
        self.max_share = max_share
        self.published = 0
        self.last_seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token: tuple[object, ...] | None = None
        self._threshold: str | None = None

    def start(self) -> None:
        row = self.store.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
        self._threshold = str(row[0]) if row else None
        self.store.con.execute(f"SET GLOBAL checkpoint_threshold = '{_NO_AUTO_CHECKPOINT}'")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._threshold is not None:
            self.store.con.execute(f"SET GLOBAL checkpoint_threshold = '{self._threshold}'")
        for p in (self.path, self._tmp_path()):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def _tmp_path(self) -> Path:
        return self.path.with_name(self.path.name + ".tmp")

    def _run(self) -> None:
        delay = 0.0
        while not self._stop.wait(delay):
            delay = max(self.interval, self.last_seconds / self.max_share)
            try:
                self.publish()
            except duckdb.TransactionException:
                delay = _BUSY_RETRY_S

    def publish(self) -> bool:
        cur = self.store.cursor()
        try:
            row = cur.con.execute("SELECT count(*), max(ingested_ms) FROM events").fetchone()
            token = tuple(row) if row else ()
            if token == self._token:
                return False
            t0 = time.perf_counter()
            tmp = self._tmp_path()
            published_ms = int(time.time() * 1000)
            with self.store.checkpoint_lock:
                cur.con.execute("CHECKPOINT")
                copy_in_child(self.store.path, tmp)
        finally:
            cur.close()
        self._stamp(tmp, published_ms)
        tmp.replace(self.path)
        self._token = token
        self.published += 1
        self.last_seconds = time.perf_counter() - t0
        return True

    def _stamp(self, tmp: Path, published_ms: int) -> None:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute("SELECT count(*) FROM events").fetchall()
            con.executemany(
                "INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)",
                [
                    (META_WRITER_PID, str(os.getpid())),
                    (META_WRITER, self.writer),
                    (META_PUBLISHED_MS, str(published_ms)),
                ],
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()
