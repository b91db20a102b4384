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
import pyarrow as pa

from reconstruct.frame import Frame, arrow_u64, mix, np_chunks, query_arrow, register
from reconstruct.instances import Built

META_HASH_PROBE = "instance_keys_hash_probe"
_PROBE = "choreo"


def hash_probe(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT hash(?::VARCHAR)", [_PROBE]).fetchone()
    return str(row[0]) if row else ""


def instance_keys_table(con: duckdb.DuckDBPyConnection, f: Frame, b: Built) -> pa.Table:
    """The distinct (value hash, value, name, instance) rows of the instances in
    ``b``, sorted by value hash. DuckDB deduplicates and sorts (one 64-bit key
    per row, on every core): a hash kernel over millions of nearly distinct keys
    is the slowest step of a rebuild otherwise."""
    # 32-bit where it fits: this runs while the rest of the rebuild holds its memory.
    inst_of = np.full(f.n, -1, dtype=np.int32)
    inst_of[b.m_eid] = b.m_inst
    inst = inst_of[f.id_eid]
    del inst_of
    member = inst >= 0
    if member.all():  # (usual: every identifier's event is in an instance)
        rows, vh, names, owners = np.arange(inst.size, dtype=np.int32), f.id_vh, f.id_name, inst
    else:
        rows = np.nonzero(member)[0].astype(np.int32)
        vh, names, owners = f.id_vh[rows], f.id_name[rows], inst[rows]
    del member
    combo = mix(mix(vh, names.astype(np.uint64)), owners.astype(np.uint64))
    register(con, "_r_ik_src", pa.table({"combo": arrow_u64(combo), "vh": arrow_u64(vh), "row": rows}))
    del combo, rows, vh, names, owners
    try:
        # The first row of each triple; ties in the hash keep the rows' order.
        picked = query_arrow(
            con, "SELECT min(row) AS row, min(vh) AS vh FROM _r_ik_src GROUP BY combo ORDER BY vh, row"
        )
    finally:
        con.unregister("_r_ik_src")
    unique = np.asarray(np_chunks(picked.column("row")), dtype=np.int64)
    take = pa.array(unique)
    return pa.table(
        {
            "key_hash": picked.column("vh"),
            "value": f.id_value.take(take),
            "name": pa.array(f.names, pa.string()).take(pa.array(f.id_name[unique])),
            "instance_id": pa.DictionaryArray.from_arrays(pa.array(inst[unique]), b.instance_id),
        }
    )


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
            con.execute(
                "INSERT INTO instance_keys SELECT key_hash, value, name, instance_id FROM _r_keys_src"
            )
    finally:
        con.unregister("_r_keys_src")
    con.execute("INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)", [META_HASH_PROBE, hash_probe(con)])


def write_instance_keys(con: duckdb.DuckDBPyConnection, f: Frame, b: Built) -> None:
    """Add the (value, name, instance) triples of the instances in ``b``."""
    insert_instance_keys(con, instance_keys_table(con, f, b))
