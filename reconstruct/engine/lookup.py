"""Positions of 64-bit keys in a set of keys: a hash join in DuckDB.

On millions of keys DuckDB's partitioned hash join (on every core) is
several times cheaper than pyarrow's ``index_in`` hash kernel, whose one
big table misses the cache on nearly every probe; small inputs stay in
pyarrow, where the round trip would cost more than it saves.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from choreo.reconstruct.engine.arrays import arrow_u64, np_chunks, query_arrow, register

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

_SMALL = 200_000  # keys in the set below which pyarrow's kernel is cheaper


def index_in(
    con: duckdb.DuckDBPyConnection | None, values: U64, value_set: U64, *, small: int = _SMALL
) -> I64:
    """Position of each value in ``value_set`` (its first occurrence), -1 if absent.

    Without ``con``, or with fewer than ``small`` keys in the set, pyarrow's kernel.
    """
    if values.size == 0 or value_set.size == 0:
        return np.full(values.size, -1, dtype=np.int64)
    if con is None or value_set.size < small:
        idx = pc.index_in(arrow_u64(values), value_set=arrow_u64(value_set))
        return np.asarray(np_chunks(idx.fill_null(-1)), dtype=np.int64)
    pos = np.int32 if max(values.size, value_set.size) < 2**31 else np.int64
    register(con, "_r_probe", pa.table({"i": np.arange(values.size, dtype=pos), "h": arrow_u64(values)}))
    register(con, "_r_set", pa.table({"j": np.arange(value_set.size, dtype=pos), "h": arrow_u64(value_set)}))
    try:
        hits = query_arrow(con, "SELECT p.i, s.j FROM _r_probe p JOIN _r_set s USING (h)")
    finally:
        con.unregister("_r_probe")
        con.unregister("_r_set")
    i = np.asarray(np_chunks(hits.column("i")), dtype=np.int64)
    j = np.asarray(np_chunks(hits.column("j")), dtype=np.int64)
    out = np.full(values.size, -1, dtype=np.int64)
    if i.size and np.bincount(i, minlength=values.size).max() > 1:
        # A key the set holds more than once: the first occurrence wins.
        first = np.full(values.size, value_set.size, dtype=np.int64)
        np.minimum.at(first, i, j)
        hit = first < value_set.size
        out[hit] = first[hit]
        return out
    out[i] = j
    return out
