"""The DuckDB store: opening with clear errors, schema versioning, appends.

One process owns a store file for writing. Raw events are never modified;
``append`` is idempotent because (topic, partition, offset) is the primary key.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

    from choreo.core.duck_memory import MemoryLimit

from choreo.core.errors import (
    NotAStoreError,
    StoreDamagedError,
    StoreError,
    StoreLockedError,
    StoreVersionError,
)
from choreo.core.schema import APP_ID, DERIVED_DDL, POISON_KINDS, RAW_DDL, SCHEMA_VERSION
from choreo.core.store_errors import store_failure

DEFAULT_DB = "choreo.duckdb"

_PID_RE = re.compile(r"PID (\d+)")
_LOCK_RE = re.compile(r"\block\b", re.IGNORECASE)


@dataclass(frozen=True)
class AppendResult:
    offered: int  # records in the batch
    inserted: int  # records that were new to the store
    # Of the others, those whose identity holds a different stored record
    # (counted with ``verify``): not duplicates, and not stored.
    conflicting: int = 0


def _classify_open_error(path: Path, exc: duckdb.Error) -> StoreError:
    text = str(exc)
    if _LOCK_RE.search(text):  # a word: "block" in a checksum error is damage, not a lock
        pid = _PID_RE.search(text)
        who = f" (process {pid.group(1)})" if pid else ""
        return StoreLockedError(
            f"{path} is in use by another process{who}; stop it or use --db",
            int(pid.group(1)) if pid else None,
        )
    if "not a valid DuckDB database" in text or "Invalid database" in text or "magic" in text:
        return NotAStoreError(f"{path} is not a choreo store (not a DuckDB database file)")
    if "newer" in text.lower() or "version" in text.lower():
        return StoreVersionError(f"{path} was written by a newer DuckDB/choreo: {text.splitlines()[0]}")
    typed = store_failure(exc, path)
    if typed is not None:
        return typed
    return StoreError(f"cannot open {path}: {text.splitlines()[0]}")


class Store:
    """A choreo store backed by one DuckDB file."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        read_only: bool,
        checkpoint_lock: threading.Lock | None = None,
    ) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        # Explicit checkpoints of the database, from any of its cursors, one at
        # a time: a snapshot publisher copies the file between two of them.
        self.checkpoint_lock = checkpoint_lock or threading.Lock()
        self._in_transaction = False  # inside transaction(): append joins it
        # DuckDB refuses concurrent calls on one connection, cursor() included:
        # threads take their own connections through cursor(), one at a time.
        self._cursor_lock = threading.Lock()
        # Highest stored offset per (topic, partition), loaded on first append.
        self._max_offsets: dict[tuple[str, int], int] | None = None
        self.memory: MemoryLimit | None = None  # DuckDB's cap while writing (limit_memory)

    def cursor(self) -> Store:
        """The same store on a connection of its own, for one thread's use; close
        it with ``close()``. Safe to call from any thread while others use their
        own cursors; the connection it is made from must not be running a query
        meanwhile, so concurrent work all goes through cursors."""
        with self._cursor_lock:
            con = self.con.cursor()
        store = Store(con, self.path, self.read_only, self.checkpoint_lock)
        store.memory = self.memory
        return store

    def limit_memory(self, base: int | None) -> None:
        """Cap DuckDB's memory at ``base`` bytes while writing, raised as far
        as large stored values need (see choreo.core.duck_memory); None: no
        longer follow (the setting stays until changed)."""
        # Imported here: it needs pyarrow, which read commands never load.
        from choreo.core.duck_memory import MemoryLimit

        self.memory = None if base is None else MemoryLimit(base)
        if self.memory is not None:
            self.memory.apply(self.con)

    # -- opening ----------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path = DEFAULT_DB, *, read_only: bool = False) -> Store:
        """Open (and, when writable, create or upgrade) a store.

        Raises StoreLockedError, NotAStoreError, StoreVersionError or StoreError
        with a one-line message; never leaves a half-initialised file behind
        for a file that was not a store.
        """
        p = Path(path)
        if read_only and not p.exists():
            raise StoreError(f"{p} does not exist")
        if p.exists() and p.is_dir():
            raise NotAStoreError(f"{p} is a directory, not a choreo store")
        try:
            con = duckdb.connect(str(p), read_only=read_only)
        except duckdb.Error as exc:
            raise _classify_open_error(p, exc) from None
        # DuckDB draws a progress bar on stdout for long queries, even when stdout
        # is a pipe: it would corrupt command output (`-o -`, --json) and the TUI.
        con.execute("SET enable_progress_bar = false")
        store = cls(con, p, read_only)
        try:
            store._check_or_init_schema()
        except duckdb.Error as exc:
            con.close()
            raise store_failure(exc, p) or StoreError(f"cannot open {p}: {exc}") from None
        except BaseException:
            con.close()
            raise
        return store

    def _check_or_init_schema(self) -> None:
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "choreo_meta" not in tables:
            if tables:
                raise NotAStoreError(
                    f"{self.path} is a DuckDB database but not a choreo store "
                    f"(it has tables {', '.join(sorted(tables)[:3])}...)"
                )
            if self.read_only:
                raise NotAStoreError(f"{self.path} is an empty database, not a choreo store")
            self._create_schema()
            return
        meta = dict(self.con.execute("SELECT key, value FROM choreo_meta").fetchall())
        if meta.get("app") != APP_ID:
            raise NotAStoreError(f"{self.path} is not a choreo store")
        text = str(meta.get("schema_version", "0"))
        if not text.isdigit():
            raise StoreDamagedError(f"{self.path}: its schema_version {text[:40]!r} is not a number")
        version = int(text)
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{self.path} was written by a newer choreo (store schema {version}, "
                f"this choreo reads up to {SCHEMA_VERSION}); upgrade choreo"
            )
        if not self.read_only:
            # Derived tables may be added by newer code of the same schema version.
            for ddl in DERIVED_DDL:
                self.con.execute(ddl)

    def _create_schema(self) -> None:
        self.con.execute("BEGIN TRANSACTION")
        for ddl in RAW_DDL + DERIVED_DDL:
            self.con.execute(ddl)
        self.con.executemany(
            "INSERT INTO choreo_meta VALUES (?, ?)",
            [
                ("app", APP_ID),
                ("schema_version", str(SCHEMA_VERSION)),
                ("created_ms", str(int(time.time() * 1000))),
            ],
        )
        self.con.execute("COMMIT")

    # -- writing ----------------------------------------------------------
    def append(self, events: pa.Table, identifiers: pa.Table, *, verify: bool = False) -> AppendResult:
        """Store a batch atomically; records already stored are ignored.

        ``events`` and ``identifiers`` have the columns of the tables of the same
        name, in order (collector.batch.EventBatch builds them). Returns how many
        events were new; identifiers are stored for exactly those. With
        ``verify``, records not inserted are compared with the stored record
        of the same identity, and those that differ counted (for sources whose
        identity choreo made up, such as plain JSON lines).

        Fast path: when every record of the batch is past the highest offset
        stored for its partition (a live collector moving forward), a plain
        INSERT cannot conflict, and skips the much slower conflict handling.
        """
        self._require_writable()
        if events.num_rows == 0:
            return AppendResult(0, 0)
        heads = self._batch_heads(events)
        if self.memory is not None:
            self.memory.before_append(self.con, events)
        # Inside a caller's transaction a failed INSERT would abort all of it:
        # there, always take the path that cannot conflict.
        own = not self._in_transaction
        self.con.register("_batch_events", events)
        self.con.register("_batch_ids", identifiers)
        try:
            if own and self._is_fresh(heads):
                try:
                    inserted = self._insert_fresh(events.num_rows)
                except duckdb.ConstraintException:
                    # Someone else wrote these partitions: forget what we knew.
                    self._max_offsets = None
                    if self.memory is not None:
                        self.memory.forget()
                    inserted = self._insert_dedup(events.num_rows)
            else:
                inserted = self._insert_dedup(events.num_rows)
            conflicting = self._conflicting(heads) if verify and inserted < events.num_rows else 0
        except BaseException:
            if own:
                self._unregister_batch()
            # Joined: the caller's transaction is aborted and DuckDB refuses any
            # statement, unregister included, until the caller rolls back.
            raise
        self._unregister_batch()
        if not own:
            self._max_offsets = None  # the caller's transaction may still roll back
        elif self._max_offsets is not None:
            for tp, (_lo, hi, _n, _d) in heads.items():
                if hi > self._max_offsets.get(tp, -1):
                    self._max_offsets[tp] = hi
        return AppendResult(events.num_rows, inserted, conflicting)

    def _own_transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return nullcontext(self.con) if self._in_transaction else self.transaction()

    def _insert_fresh(self, n: int) -> int:
        with self._own_transaction() as con:
            con.execute("INSERT INTO events SELECT * FROM _batch_events")
            con.execute("INSERT INTO identifiers SELECT * FROM _batch_ids")
        return n

    def _insert_dedup(self, n: int) -> int:
        with self._own_transaction() as con:
            with warnings.catch_warnings():
                # "extra copy" warning: a copy of three key columns is cheaper than Python tuples.
                warnings.simplefilter("ignore", UserWarning)
                new: pa.Table = con.execute(
                    "INSERT OR IGNORE INTO events SELECT * FROM _batch_events "
                    'RETURNING topic, partition, "offset"'
                ).to_arrow_table()
            if new.num_rows == n:
                con.execute("INSERT INTO identifiers SELECT * FROM _batch_ids")
            elif new.num_rows:
                con.register("_batch_new", new)
                try:
                    con.execute(
                        "INSERT INTO identifiers SELECT DISTINCT i.* FROM _batch_ids i "
                        'SEMI JOIN _batch_new n USING (topic, partition, "offset")'
                    )
                finally:
                    con.unregister("_batch_new")
        return int(new.num_rows)

    def _conflicting(self, heads: dict[tuple[str, int], tuple[int, int, int, int]]) -> int:
        """Batch records whose identity holds a different stored payload (the
        batch's own new records match themselves). Offsets bound the scan."""
        lo = min(h[0] for h in heads.values())
        hi = max(h[1] for h in heads.values())
        rows = self.con.execute(
            'SELECT count(*) FROM _batch_events b JOIN events e USING (topic, partition, "offset") '
            'WHERE e."offset" BETWEEN ? AND ? AND e.payload IS DISTINCT FROM b.payload',
            [lo, hi],
        ).fetchall()
        return int(rows[0][0])

    @staticmethod
    def _batch_heads(events: pa.Table) -> dict[tuple[str, int], tuple[int, int, int, int]]:
        """Per (topic, partition): min offset, max offset, rows, distinct offsets."""
        g = events.group_by(["topic", "partition"]).aggregate(
            [("offset", "min"), ("offset", "max"), ("offset", "count"), ("offset", "count_distinct")]
        )
        cols = g.to_pydict()
        return {
            (t, p): (lo, hi, n, d)
            for t, p, lo, hi, n, d in zip(
                cols["topic"],
                cols["partition"],
                cols["offset_min"],
                cols["offset_max"],
                cols["offset_count"],
                cols["offset_count_distinct"],
                strict=True,
            )
        }

    def _is_fresh(self, heads: dict[tuple[str, int], tuple[int, int, int, int]]) -> bool:
        if self._max_offsets is None:
            rows = self.con.execute(
                'SELECT topic, partition, max("offset") FROM events GROUP BY ALL'
            ).fetchall()
            self._max_offsets = {(str(t), int(p)): int(o) for t, p, o in rows}
        known = self._max_offsets
        return all(lo > known.get(tp, -1) and n == d for tp, (lo, _hi, n, d) in heads.items())

    def _unregister_batch(self) -> None:
        self.con.unregister("_batch_events")
        self.con.unregister("_batch_ids")

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing; ``append`` calls inside it join it (for --strict imports)."""
        self._require_writable()
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False
        self.con.execute("COMMIT")

    def set_meta(self, key: str, value: str) -> None:
        self._require_writable()
        self.con.execute("INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)", [key, value])

    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM choreo_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    # -- reading ----------------------------------------------------------
    def count_events(self) -> int:
        # fetchall, not fetchone: a result left unfinished blocks register() (DuckDB 2).
        rows = self.con.execute("SELECT count(*) FROM events").fetchall()
        return int(rows[0][0]) if rows else 0

    def summary(self) -> dict[str, Any]:
        """Raw-event summary: total, per topic, poison count."""
        topics = dict(
            self.con.execute("SELECT topic, count(*) FROM events GROUP BY topic ORDER BY topic").fetchall()
        )
        kinds = ", ".join(f"'{k}'" for k in POISON_KINDS)
        row = self.con.execute(f"SELECT count(*) FROM events WHERE payload_kind IN ({kinds})").fetchone()
        return {
            "events": int(sum(topics.values())),
            "topics": {str(k): int(v) for k, v in topics.items()},
            "poison": int(row[0]) if row else 0,
        }

    def query(self, sql: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    # -- lifecycle --------------------------------------------------------
    def checkpoint(self) -> None:
        if not self.read_only:
            with self.checkpoint_lock:
                self.con.execute("CHECKPOINT")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except duckdb.Error:
            if exc is None:
                raise
            # Closing a store that just failed may fail the same way; the first error tells.
        # A damaged, full or locked store leaves as the typed error naming this file.
        typed = store_failure(exc, self.path) if exc is not None else None
        if typed is not None and typed is not exc:
            raise typed from exc

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
