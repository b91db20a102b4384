"""Low-level helpers between DuckDB, Arrow and numpy: query results as
Arrow tables, zero-copy numpy views of Arrow columns (and back), tables
handed to DuckDB in batches its threads can share, a vectorised 64-bit hash
combiner."""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

U64 = npt.NDArray[np.uint64]


def query_arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """A query's result as an Arrow table, without the DB-API copy."""
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or getattr(rel, "arrow")  # noqa: B009
    table = fetch()
    assert isinstance(table, pa.Table)
    return table


def np_view(arr: pa.Array) -> npt.NDArray[np.generic]:
    """A numpy view of a fixed-width Arrow array without nulls (booleans are
    unpacked). ``Array.to_numpy(zero_copy_only=False)`` goes through the pandas
    conversion layer: it copies and imports pandas (a third of a second)."""
    if pa.types.is_boolean(arr.type):
        arr = pc.cast(arr, pa.uint8())
        flags = np.frombuffer(arr.buffers()[1], dtype=np.uint8, count=len(arr), offset=arr.offset)
        return flags.view(np.bool_)
    if pa.types.is_dictionary(arr.type):
        arr = arr.indices
    assert arr.null_count == 0, "np_view: nulls"
    dtype = np.dtype(arr.type.to_pandas_dtype())
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


def np_chunks(col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.generic]:
    """One numpy array from a (chunked) Arrow column, fixed-width, without nulls."""
    if isinstance(col, pa.Array):
        return np_view(col)
    if col.num_chunks == 0:
        return np.zeros(0, dtype=np.dtype(col.type.to_pandas_dtype()))
    if col.num_chunks == 1:
        return np_view(col.chunk(0))
    return np.concatenate([np_view(c) for c in col.chunks])


# Rows per record batch of a table handed to DuckDB: it scans an Arrow table
# one batch per thread, so a single-batch table of millions of rows would be
# read, aggregated and appended on one core.
_BATCH_ROWS = 122_880


def register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """``con.register`` in batches that DuckDB's threads can share."""
    if table.num_rows > _BATCH_ROWS:
        table = pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS), table.schema)
    con.register(name, table)


def arrow_u64(a: U64) -> pa.Array:
    """Zero-copy Arrow view of a uint64 array (``pa.array(a, pa.uint64())`` copies element-wise)."""
    return pa.array(np.ascontiguousarray(a, dtype=np.uint64))


def mix(a: U64, b: U64 | np.uint64) -> U64:
    """Combine two 64-bit hashes (order-sensitive), vectorised.

    In place on one result array: on tens of millions of rows each temporary
    costs page faults as well as a pass over memory.
    """
    with np.errstate(over="ignore"):
        x = np.left_shift(a, np.uint64(6))
        t = np.right_shift(a, np.uint64(2))
        x += t
        x += b
        x += np.uint64(0x9E3779B97F4A7C15)
        x ^= a
        np.right_shift(x, np.uint64(31), out=t)
        x ^= t
        x *= np.uint64(0xBF58476D1CE4E5B9)
        np.right_shift(x, np.uint64(29), out=t)
        x ^= t
    return x
