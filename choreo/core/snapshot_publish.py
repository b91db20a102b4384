"""Publishing a store's snapshots while it is written (see ``core.snapshot``).

Each publish brings one of the two snapshot files up to date in place, from
the writer's own process: the file is ATTACHed to the store's database and
one transaction copies into it what changed, all read at one moment of the
store, so a reader sees one published state or the next, never a mix.

- ``events`` and ``identifiers`` are only ever appended to (their identity is
  the primary key; nothing deletes them), so their row ids grow with every
  commit: a snapshot holding n rows holds the store's first n, and a publish
  appends the rows from n on. (A snapshot whose last row is not the store's
  row at that place is copied whole again.)
- Every other table (choreo_meta, the consumer groups' offsets, the derived
  tables) is replaced when the store's tables changed since that file was
  last published: reconstruction stamps choreo_meta whenever it writes them,
  and their row counts are compared too. A table the store no longer has,
  or has in another shape, goes or is created again.

A publish costs about what the new rows cost the writer to store (their
compression and write-ahead log), not the store's size. The first snapshot,
and a file that cannot be brought up to date, are made by copying the store
file after a CHECKPOINT (at disk speed: far faster than writing the rows
again), with DuckDB's automatic checkpoints held back meanwhile so that the
file does not change under the copy; the writer's own reconstructions hold
the store's ``checkpoint_lock``, and the copy waits for them. Publishing runs
every ``interval`` seconds while the store changes, less often (up to
``max_interval``) when a publish costs more than ``max_share`` of the time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
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
    copy_in_child,
    snapshot_paths,
    wal_path,
)
from choreo.core.store import Store

log = logging.getLogger(__name__)

APPENDED = ("events", "identifiers")  # append-only: copied by row id
# The columns that tell whether a snapshot's last row is the store's row at that place.
_IDENTITY = {"events": 'topic, partition, "offset"', "identifiers": 'topic, partition, "offset", name, value'}
_ALIAS = "choreo_publish"
_NO_AUTO_CHECKPOINT = "1000GB"  # while the store file is copied
_BUSY_RETRY_S = 0.2  # after a CHECKPOINT refused for another write transaction, or both files held
_BUSY_WARN_S = 60.0  # not published for this long without a break: worth a warning
_BATCH_ROWS = 65_536
_CREATE = re.compile(r"^CREATE TABLE ", re.IGNORECASE)


def _writer_busy(exc: BaseException) -> bool:
    """DuckDB refused a CHECKPOINT because another write transaction is open."""
    return isinstance(exc, duckdb.TransactionException) and "other write transactions" in str(exc)


def _held(exc: BaseException) -> bool:
    """A reader has the snapshot file open: DuckDB's lock keeps us out."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class _Resync(Exception):
    """The snapshot cannot be brought up to date row by row: copy it whole."""


class _Busy(Exception):
    """Both snapshot files are held by readers, or the store is mid-transaction."""


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
        self.copies = 0  # ... of them whole copies of the store file
        self.attempts = 0  # times it looked for changes to publish
        self.busy = 0  # attempts put off: a CHECKPOINT refused, or both files held by readers
        self.last_seconds = 0.0  # what the last publish cost
        self.generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token: tuple[object, ...] | None = None  # the store as last published
        # Per file: the state of its replaced tables as last published there (None: unknown).
        self._replaced: dict[Path, tuple[object, ...] | None] = {}
        self._newest: Path | None = None
        self._out: duckdb.DuckDBPyConnection | None = None

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
        self._thread = threading.Thread(target=self._run, name="choreo-snapshot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing and remove the snapshots (readers then open the store itself)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._out is not None:
            self._out.close()
            self._out = None
        self._remove_files()

    def _remove_files(self) -> None:
        for path in self.paths:
            for p in (path, wal_path(path), self._tmp_path(path), wal_path(self._tmp_path(path))):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
        self._replaced.clear()
        self._newest = None

    @staticmethod
    def _tmp_path(path: Path) -> Path:
        return path.with_name(path.name + ".tmp")

    def _run(self) -> None:
        delay = 0.0
        failures = 0
        put_off_since: float | None = None
        while not self._stop.wait(delay):
            delay = min(self.max_interval, max(self.interval, self.last_seconds / self.max_share))
            try:
                self.publish()
                failures = 0
                put_off_since = None
            except (_Busy, duckdb.Error, OSError) as exc:
                if isinstance(exc, _Busy) or _writer_busy(exc):
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
                # then wait for the store itself.
                log.exception("snapshot publishing stopped")
                return

    # -- one publish ---------------------------------------------------------
    def publish(self) -> bool:
        """Publish now if the store changed since the last publish; raises
        _Busy when both files are held by readers (try again soon)."""
        self.attempts += 1
        cur = self.store.cursor()
        try:
            token = self._changes(cur.con)
            if token == self._token:
                return False
            t0 = time.perf_counter()
            self._publish_somewhere(cur, token)
        finally:
            cur.close()
        self._token = token
        self.published += 1
        self.last_seconds = time.perf_counter() - t0
        log.debug("snapshot published %s", kv(path=self._newest, s=f"{self.last_seconds:.3f}"))
        return True

    def _publish_somewhere(self, cur: Store, token: tuple[object, ...]) -> None:
        # The newest file first (the least to bring in), the other while a reader holds it.
        order = sorted(self.paths, key=lambda p: p != self._newest)
        for path in order:
            if not path.exists() or path not in self._replaced:
                self._copy_whole(cur, path)
                return
            try:
                self._bring_up_to_date(cur, path, token)
                return
            except _Resync as why:
                log.info("snapshot copied whole %s", kv(path=path, why=str(why)))
                self._copy_whole(cur, path)
                return
            except duckdb.IOException as exc:
                if not _held(exc):
                    raise
        raise _Busy("both snapshots are held by readers")

    def _bring_up_to_date(self, cur: Store, path: Path, token: tuple[object, ...]) -> None:
        con, out = cur.con, self._own()
        escaped = str(path).replace("'", "''")
        out.execute(f"ATTACH '{escaped}' AS {_ALIAS}")  # refused while a reader has it open
        try:
            published_ms = int(time.time() * 1000)  # the store is read right after: as of now at the latest
            con.execute("BEGIN TRANSACTION")  # the store as of one moment, read-only
            out.execute("BEGIN TRANSACTION")
            try:
                main = _tables(con, "main")
                mine = _tables(out, _ALIAS)
                for table in APPENDED:
                    self._append_new_rows(con, out, table, main, mine)
                replaced = token[len(APPENDED) :]
                if self._replaced.get(path) != replaced:
                    for table, sql in main.items():
                        if table not in APPENDED:
                            self._replace(con, out, table, sql, mine.get(table))
                    for table in set(mine) - set(main):
                        out.execute(f'DROP TABLE {_ALIAS}."{table}"')
                self._stamp(out, published_ms)
                out.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # COMMIT itself failed: already rolled back
                    out.execute("ROLLBACK")
                raise
            finally:
                con.execute("COMMIT")
        finally:
            out.execute(f"DETACH {_ALIAS}")
        self._replaced[path] = replaced
        self._newest = path

    def _own(self) -> duckdb.DuckDBPyConnection:
        """The publisher's own database instance, in memory, that the snapshot
        files are attached to: the writer's catalog never sees them (its
        reconstruction lists attached stores), and it works on one thread."""
        if self._out is None:
            out = duckdb.connect(":memory:", config={"threads": 1})
            out.execute("SET enable_progress_bar = false")  # it draws on stdout (see Store.open)
            # The file keeps its write-ahead log between publishes (replayed by whoever
            # opens it next): a checkpoint per publish would rewrite its last row group.
            out.execute("SET checkpoint_on_detach = 'DISABLED'")
            self._out = out
        return self._out

    @staticmethod
    def _append_new_rows(
        con: duckdb.DuckDBPyConnection,
        out: duckdb.DuckDBPyConnection,
        table: str,
        main: dict[str, str],
        mine: dict[str, str],
    ) -> None:
        if table not in mine or mine[table] != main.get(table):
            raise _Resync(f"{table} changed shape")
        row = out.execute(f"SELECT count(*) FROM {_ALIAS}.{table}").fetchone()
        have = int(row[0]) if row else 0
        row = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
        total = int(row[0]) if row else 0
        if total < have:
            raise _Resync(f"{table} shrank")
        if have:
            ident = _IDENTITY[table]
            ours = out.execute(f"SELECT {ident} FROM {_ALIAS}.{table} WHERE rowid = ?", [have - 1]).fetchall()
            theirs = con.execute(f"SELECT {ident} FROM main.{table} WHERE rowid = ?", [have - 1]).fetchall()
            if ours != theirs:
                raise _Resync(f"{table} is not the store's first {have} rows")
        if total > have:
            _pour(con, f"SELECT * FROM main.{table} WHERE rowid >= {have}", out, table)

    @staticmethod
    def _replace(
        con: duckdb.DuckDBPyConnection, out: duckdb.DuckDBPyConnection, table: str, sql: str, mine: str | None
    ) -> None:
        if mine == sql:
            out.execute(f'DELETE FROM {_ALIAS}."{table}"')
        else:
            if mine is not None:
                out.execute(f'DROP TABLE {_ALIAS}."{table}"')
            out.execute(_CREATE.sub(f"CREATE TABLE {_ALIAS}.", sql, count=1))
        _pour(con, f'SELECT * FROM main."{table}"', out, table)

    def _stamp(self, out: duckdb.DuckDBPyConnection, published_ms: int) -> None:
        self.generation += 1
        out.executemany(
            f"INSERT OR REPLACE INTO {_ALIAS}.choreo_meta VALUES (?, ?)",
            [
                (META_WRITER_PID, str(os.getpid())),
                (META_WRITER, self.writer),
                (META_PUBLISHED_MS, str(published_ms)),
                (META_GENERATION, str(self.generation)),
            ],
        )

    def _copy_whole(self, cur: Store, path: Path) -> None:
        """Copy the store file after a CHECKPOINT, stamp the copy, put it in place."""
        tmp = self._tmp_path(path)
        con = cur.con
        with self.store.checkpoint_lock:
            row = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
            threshold = str(row[0]) if row else "16MB"
            # The store file changes only at checkpoints: none may start until it is copied.
            con.execute(f"SET GLOBAL checkpoint_threshold = '{_NO_AUTO_CHECKPOINT}'")
            try:
                published_ms = int(time.time() * 1000)
                con.execute("CHECKPOINT")
                copy_in_child(self.store.path, tmp)
            finally:
                con.execute(f"SET GLOBAL checkpoint_threshold = '{threshold}'")
        out = self._own()
        escaped = str(tmp).replace("'", "''")
        # Opened and checked here, before any reader can see it.
        out.execute(f"ATTACH '{escaped}' AS {_ALIAS}")
        try:
            out.execute(f"SELECT count(*) FROM {_ALIAS}.events").fetchall()
            self._stamp(out, published_ms)
            out.execute(f"CHECKPOINT {_ALIAS}")  # no log of its own to go with it
        finally:
            out.execute(f"DETACH {_ALIAS}")
        with contextlib.suppress(FileNotFoundError):
            wal_path(path).unlink()  # an old log must never be replayed onto the new file
        tmp.replace(path)
        # Its tables are the store's as of the copy: the next publish replaces them.
        self._replaced[path] = None
        self._newest = path
        self.copies += 1

    def _changes(self, con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
        """Cheap facts that change whenever anything a reader sees changes:
        first the appended tables' sizes, then the replaced tables' state."""
        tables = sorted(t for t in _tables(con, "main") if t not in APPENDED)
        counts = " , ".join(f'(SELECT count(*) FROM main."{t}")' for t in tables)
        row = con.execute(
            "SELECT (SELECT count(*) FROM main.events), (SELECT count(*) FROM main.identifiers), "
            "(SELECT max(observed_ms) FROM main.group_offsets), "
            "(SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM main.choreo_meta)"
            + (f", {counts}" if counts else "")
        ).fetchone()
        return (*row[:2], tuple(tables), *row[2:]) if row else ()


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, str]:
    """The tables of ``database`` ("main": the connection's own) and the SQL that made them."""
    if database == "main":
        where, params = "database_name = current_database()", []
    else:
        where, params = "database_name = ?", [database]
    rows = con.execute(
        "SELECT table_name, sql FROM duckdb_tables() "
        f"WHERE {where} AND schema_name = 'main' AND NOT temporary",
        params,
    ).fetchall()
    return {str(name): str(sql) for name, sql in rows}


def _pour(con: duckdb.DuckDBPyConnection, query: str, out: duckdb.DuckDBPyConnection, table: str) -> None:
    """Insert what ``query`` reads from the store into the snapshot's ``table``,
    in Arrow batches (the two are different database instances)."""
    reader = con.execute(query).to_arrow_reader(_BATCH_ROWS)
    out.register("_choreo_rows", reader)
    try:
        out.execute(f'INSERT INTO {_ALIAS}."{table}" SELECT * FROM _choreo_rows')
    finally:
        out.unregister("_choreo_rows")
