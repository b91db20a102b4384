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

from reconstruct.frame import Frame, arrow_u64
from reconstruct.instances import Built

META_HASH_PROBE = "instance_keys_hash_probe"
_PROBE = "choreo"


def hash_probe(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT hash(?::VARCHAR)", [_PROBE]).fetchone()
    return str(row[0]) if row else ""


def write_instance_keys(con: duckdb.DuckDBPyConnection, f: Frame, b: Built) -> None:
    """Add the (value, name, instance) triples of the instances in ``b``."""
    inst_of = np.full(f.n, -1, dtype=np.int64)
    inst_of[b.m_eid] = b.m_inst
    inst = inst_of[f.id_eid]
    keep = inst >= 0
    take = pa.array(np.nonzero(keep)[0])
    table = pa.table(
        {
            "key_hash": arrow_u64(f.id_vh[keep]),
            "value": f.id_value.take(take),
            "name": pa.array(f.names, pa.string()).take(pa.array(f.id_name[keep])),
            "instance_id": pa.DictionaryArray.from_arrays(
                pa.array(inst[keep].astype(np.int32)), b.instance_id
            ),
        }
    )
    con.register("_r_keys_src", table)
    try:
        con.execute(
            "INSERT INTO instance_keys SELECT DISTINCT key_hash, value, name, instance_id "
            "FROM _r_keys_src ORDER BY key_hash"
        )
    finally:
        con.unregister("_r_keys_src")
    con.execute("INSERT OR REPLACE INTO choreo_meta VALUES (?, ?)", [META_HASH_PROBE, hash_probe(con)])
