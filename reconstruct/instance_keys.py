"""``instance_keys``: which instance carries which identifier value, for
search ("order 4711", a shipment id, a trace id) on logs of any size.

Rows are written sorted by ``hash(value)``, so DuckDB's min/max zone maps
let a lookup read one row group of the table instead of scanning every
identifier of the log. The hash is DuckDB's own; a probe value stored in the
store's meta tells a reader whether this DuckDB hashes the same way (after
an upgrade it may not, and readers fall back to scanning until a rebuild).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconstruct.frame import Frame, arrow_u64, mix
from reconstruct.instances import Built

META_HASH_PROBE = "instance_keys_hash_probe"
_PROBE = "choreo"


def hash_probe(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT hash(?::VARCHAR)", [_PROBE]).fetchone()
    return str(row[0]) if row else ""


def instance_keys_table(f: Frame, b: Built) -> pa.Table:
    """The distinct (value hash, value, name, instance) rows of the instances in
    ``b``, sorted by value hash (deduplicated and sorted here, in numpy)."""
    inst_of = np.full(f.n, -1, dtype=np.int64)
    inst_of[b.m_eid] = b.m_inst
    inst = inst_of[f.id_eid]
    rows = np.nonzero(inst >= 0)[0]
    combo = mix(mix(f.id_vh[rows], f.id_name[rows].astype(np.uint64)), inst[rows].astype(np.uint64))
    ids = pc.dictionary_encode(arrow_u64(combo)).indices.to_numpy().astype(np.int64) if rows.size else rows
    first = np.full(int(ids.max()) + 1 if ids.size else 0, -1, dtype=np.int64)
    first[ids[::-1]] = np.arange(ids.size - 1, -1, -1, dtype=np.int64)  # first row of each triple
    unique = rows[first]
    unique = unique[np.argsort(f.id_vh[unique], kind="stable")]
    take = pa.array(unique)
    return pa.table(
        {
            "key_hash": arrow_u64(f.id_vh[unique]),
            "value": f.id_value.take(take),
            "name": pa.array(f.names, pa.string()).take(pa.array(f.id_name[unique])),
            "instance_id": pa.DictionaryArray.from_arrays(
                pa.array(inst[unique].astype(np.int32)), b.instance_id
            ),
        }
    )


def insert_instance_keys(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("_r_keys_src", table)
    try:
        con.execute(
            # Already distinct and in key_hash order: inserted as they come.
            "INSERT INTO instance_keys SELECT key_hash, value, name, instance_id FROM _r_keys_src"
        )
    finally:
        con.unregister("_r_keys_src")
    con.execute("INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)", [META_HASH_PROBE, hash_probe(con)])


def write_instance_keys(con: duckdb.DuckDBPyConnection, f: Frame, b: Built) -> None:
    """Add the (value, name, instance) triples of the instances in ``b``."""
    insert_instance_keys(con, instance_keys_table(f, b))
