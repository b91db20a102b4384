"""``instance_keys``: which instance carries which identifier value, for
search ("order 4711", a shipment id, a trace id) on logs of any size.

Rows are written sorted by ``hash(value)`` (each row group holds a
contiguous range of hashes), so DuckDB's min/max zone maps let a lookup
read one row group of the table instead of scanning every
identifier of the log. The hash is DuckDB's own; a probe value stored in the
store's meta tells a reader whether this DuckDB hashes the same way (after
an upgrade it may not, and readers fall back to scanning until a rebuild).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from choreo.core.schema import META_HASH_PROBE, hash_probe
from choreo.reconstruct.engine.frame import Frame, arrow_u64, query_arrow, register
from choreo.reconstruct.engine.instances import Built


def key_rows(con: duckdb.DuckDBPyConnection, f: Frame, inst_of: npt.NDArray[np.integer]) -> pa.Table:
    """The distinct (value hash, name code, instance number) rows, sorted by
    value hash; ``inst_of``: each event's instance number (-1: none).

    DuckDB deduplicates and sorts (on every core): a hash kernel over millions
    of nearly distinct keys is the slowest step of a rebuild otherwise. The
    value itself is not kept: its 64-bit hash finds it (stitching already
    relies on those hashes not colliding)."""
    # 32-bit where it fits: this runs while the rest of the rebuild holds its memory.
    inst = inst_of.astype(np.int32)[f.id_eid]
    register(con, "_r_ik_src", pa.table({"vh": arrow_u64(f.id_vh), "name": f.id_name, "inst": inst}))
    del inst
    try:
        return query_arrow(
            con,
            "SELECT vh, name::INTEGER AS name, inst FROM _r_ik_src WHERE inst >= 0 GROUP BY ALL ORDER BY vh",
        )
    finally:
        con.unregister("_r_ik_src")


# instance_keys name of the causation ids found by value: a live update finds
# the instance of an event that names a new event as its cause through them.
CAUSE_NAME = "causation"


def cause_rows(f: Frame, inst_of: npt.NDArray[np.integer], instance_id: pa.Array) -> pa.Table:
    """instance_keys rows of the causation ids found by value, sorted by hash."""
    which = np.flatnonzero(f.cau_found & (inst_of >= 0))
    order = which[np.argsort(f.cau_h[which], kind="stable")]
    return pa.table(
        {
            "key_hash": arrow_u64(f.cau_h[order]),
            "name": pa.array([CAUSE_NAME] * order.size, pa.string()),
            "instance_id": instance_id.take(pa.array(np.asarray(inst_of[order], dtype=np.int64))),
        }
    )


def named(rows: pa.Table, names: list[str], instance_id: pa.Array) -> pa.Table:
    """``key_rows`` with the names and instance ids the table stores."""

    def decode(col: str, dictionary: pa.Array) -> pa.ChunkedArray:
        return pa.chunked_array(
            [pa.DictionaryArray.from_arrays(c, dictionary) for c in rows.column(col).chunks],
            pa.dictionary(pa.int32(), pa.string()),
        )

    return pa.table(
        {
            "key_hash": rows.column("vh"),
            "name": decode("name", pa.array(names, pa.string())),
            "instance_id": decode("inst", instance_id),
        }
    )


def instance_keys_table(con: duckdb.DuckDBPyConnection, f: Frame, b: Built) -> pa.Table:
    """The distinct (value hash, name, instance) rows of the instances in ``b``
    (identifiers, then found causation ids), each part sorted by value hash."""
    inst_of = np.full(f.n, -1, dtype=np.int32)
    inst_of[b.m_eid] = b.m_inst
    ids = named(key_rows(con, f, inst_of), f.names, b.instance_id)
    causes = cause_rows(f, inst_of, b.instance_id)
    if causes.num_rows == 0:
        return ids
    return pa.concat_tables([ids.cast(causes.schema), causes])


@contextlib.contextmanager
def parallel_inserts(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB append on every core. The rows of each row group still come
    from a contiguous stretch of the input, so a sorted input still gives row
    groups with disjoint key ranges (what the zone maps need); only the order
    of the row groups among themselves is no longer guaranteed."""
    row = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    before = bool(row[0]) if row else True
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {str(before).lower()}")


def insert_instance_keys(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    register(con, "_r_keys_src", table)
    try:
        with parallel_inserts(con):
            # Already distinct and in key_hash order.
            con.execute("INSERT INTO instance_keys SELECT key_hash, name, instance_id FROM _r_keys_src")
    finally:
        con.unregister("_r_keys_src")
    con.execute("INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)", [META_HASH_PROBE, hash_probe(con)])


def write_instance_keys(con: duckdb.DuckDBPyConnection, f: Frame, b: Built) -> None:
    """Add the (value hash, name, instance) rows of the instances in ``b``."""
    insert_instance_keys(con, instance_keys_table(con, f, b))
