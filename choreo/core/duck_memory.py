"""DuckDB's memory limit while writing, following the data.

A writer caps DuckDB's memory (it would otherwise cache what it wrote, up to
most of the machine's RAM), but a cap must not be below what a write needs.
Measured with DuckDB 2.0: a checkpoint pins every large value (stored out of
line: longer than about 4 KB) of the table's last row group, so a 128 MB cap
fails with "failed to pin block" once about 130 MB of 1 MB payloads sit in
one row group, whatever the batch size (256 MB at about 380 MB, 512 MB at
about 880 MB: roughly 0.56 x the large values + 56 MB); with small values it
never pins more than a few blocks. So the cap is the writer's base plus 3/4
of the large values in the events table's last row group, raised before the
append that needs it and lowered when a new row group starts.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

ROW_GROUP_ROWS = 122_880  # DuckDB's rows per row group
BIG_VALUE = 4096  # values at least this long are stored out of line
PINNED_SHARE = 0.75  # of the large values' bytes, the most a checkpoint was seen to need (0.56) and a margin


def _big_bytes(payloads: pa.ChunkedArray) -> int:
    lengths = pc.binary_length(payloads)
    big = pc.sum(pc.if_else(pc.greater_equal(lengths, BIG_VALUE), lengths, 0)).as_py()
    return int(big or 0)


class MemoryLimit:
    """The memory cap of one store's writer; ``before_append`` keeps it
    above what the coming append's checkpoint will pin."""

    def __init__(self, base: int) -> None:
        self.base = base
        self._rows: int | None = None  # rows in the events table's last row group
        self._tail = 0  # bytes of large payloads in it
        self._set: int | None = None

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        self._put(con, self.base + int(self._tail * PINNED_SHARE))

    def before_append(self, con: duckdb.DuckDBPyConnection, events: pa.Table) -> None:
        if self._rows is None:
            self._load(con)
        rows = (self._rows or 0) + events.num_rows
        self._tail += _big_bytes(events.column("payload"))
        self._put(con, self.base + int(self._tail * PINNED_SHARE))
        if rows >= ROW_GROUP_ROWS:
            # The row group is full after this append: what follows starts a new one.
            rows %= ROW_GROUP_ROWS
            self._tail = 0
        self._rows = rows

    def forget(self) -> None:
        """Another writer may have appended: count again before the next append."""
        self._rows = None
        self._tail = 0

    def _load(self, con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute("SELECT count(*) FROM events").fetchall()
        total = int(rows[0][0]) if rows else 0
        start = total - total % ROW_GROUP_ROWS
        tail = con.execute(
            "SELECT sum(octet_length(payload)) FROM events WHERE rowid >= ? AND octet_length(payload) >= ?",
            [start, BIG_VALUE],
        ).fetchall()
        self._rows = total - start
        self._tail = int(tail[0][0] or 0) if tail else 0

    def _put(self, con: duckdb.DuckDBPyConnection, limit: int) -> None:
        if limit != self._set:
            con.execute(f"SET memory_limit = '{int(limit)}B'")
            self._set = limit
