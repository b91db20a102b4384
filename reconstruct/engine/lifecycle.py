"""Lifecycle transitions (the XES standard's ``lifecycle:transition``): a
type's events stamped at the same instant in one instance (an activity's
start and complete recorded together, on different partitions and without
a causation id) are ordered by their transition, start before complete,
never by where they landed.

Only such ties are looked up (a handful of payloads per run), so the
payloads of the whole log are never parsed for it.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from choreo.reconstruct.engine.frame import Frame, register
from choreo.reconstruct.query.lifecycle import LIFECYCLE_PATHS, PHASES, UNKNOWN_PHASE

I64 = npt.NDArray[np.int64]


def _phase_sql() -> str:
    picks = ", ".join(f"json_extract_string(p, '{path}')" for path in LIFECYCLE_PATHS)
    cases = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in PHASES.items())
    return f"CASE lower(trim(coalesce({picks}))) {cases} ELSE {UNKNOWN_PHASE} END"


def phases(con: duckdb.DuckDBPyConnection, f: Frame, eids: I64) -> I64:
    """The transition rank of each of these events (``UNKNOWN_PHASE`` where none)."""
    out = np.full(eids.size, UNKNOWN_PHASE, dtype=np.int64)
    if eids.size == 0:
        return out
    topic, partition, offset = f.coordinates(eids)
    keys = pa.table(
        {
            "i": pa.array(np.arange(eids.size, dtype=np.int64)),
            "topic": topic.dictionary_decode(),
            "partition": partition.cast(pa.int32()),
            "offset": offset,
        }
    )
    register(con, "_r_lifecycle_keys", keys)
    try:
        rows = con.execute(
            f"""
            SELECT k.i, {_phase_sql()} AS phase
            FROM (
                SELECT k.i, CASE WHEN e.payload_kind = 'json' THEN decode(e.payload)::JSON END AS p
                FROM _r_lifecycle_keys k
                JOIN log_events e USING (topic, partition, "offset")
            ) k
            """
        ).fetchnumpy()
    finally:
        con.unregister("_r_lifecycle_keys")
    out[rows["i"].astype(np.int64)] = rows["phase"].astype(np.int64)
    return out
