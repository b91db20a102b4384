"""Writing the built instances: ``instance_events`` and ``variants`` rows, and
the instances themselves as an Arrow table (their status still to be judged)."""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from choreo.core.schema import DERIVED_TABLES
from choreo.reconstruct.engine.aside import ASIDE_REASONS
from choreo.reconstruct.engine.frame import Frame, register
from choreo.reconstruct.engine.instance_keys import parallel_inserts
from choreo.reconstruct.engine.instances import Built

INSTANCE_COLUMNS = (
    "instance_id",
    "workflow",
    "status",
    "label",
    "start_ms",
    "end_ms",
    "n_events",
    "n_duplicates",
    "n_skewed",
    "first_type",
    "last_type",
    "last_service",
    "last_topic",
    "last_partition",
    "last_offset",
    "types",
    "variant",
    "last_repeats",
)


def recreate_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Drop and create the derived tables (owned by reconstruct; always current shape)."""
    for table in DERIVED_TABLES:
        con.execute(f"DROP TABLE IF EXISTS main.{table.name}")
        con.execute(table.ddl())


def _types_lists(f: Frame, b: Built) -> pa.Array:
    rows, cols = np.nonzero(b.presence)
    offsets = np.zeros(b.k + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=b.k), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(f.types, pa.string()).take(pa.array(cols)))


def _masked(a: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(a.astype(np.int32), mask=a < 0)


def instances_table(f: Frame, b: Built) -> pa.Table:
    """The ``instances`` rows of ``b`` (status: running, until judged)."""
    types = pa.array(f.types, pa.string())
    last_topic, last_partition, last_offset = f.coordinates(b.last)
    return pa.table(
        {
            "instance_id": b.instance_id,
            "workflow": pa.array(b.workflows, pa.string()).take(pa.array(b.wf)),
            "status": pa.array(["running"] * b.k, pa.string()),
            "label": b.label,
            "start_ms": b.start_ms,
            "end_ms": b.end_ms,
            "n_events": pa.array(b.n_events.astype(np.int32)),
            "n_duplicates": pa.array(b.n_dup.astype(np.int32)),
            "n_skewed": pa.array(b.n_skewed.astype(np.int32)),
            "first_type": types.take(pa.array(f.typ[b.first])),
            "last_type": types.take(pa.array(f.typ[b.last])),
            "last_service": pa.array(f.services, pa.string()).take(pa.array(f.svc[b.last])),
            "last_topic": last_topic,
            "last_partition": last_partition,
            "last_offset": last_offset,
            "types": _types_lists(f, b),
            "variant": pa.array(b.variant.astype(np.int32)),
            "last_repeats": pa.array(b.last_repeats.astype(np.int32)),
        }
    )


def write_instance_events(con: duckdb.DuckDBPyConnection, f: Frame, b: Built) -> None:
    topic, partition, offset = f.coordinates(b.m_eid)
    events = pa.table(
        {
            "instance_id": pa.DictionaryArray.from_arrays(pa.array(b.m_inst.astype(np.int32)), b.instance_id),
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "seq": pa.array(b.m_seq.astype(np.int32)),
            "adj_ts_ms": b.m_adj,
            "skew_ms": b.m_skew,
            "parent_seq": _masked(b.m_parent_seq),
            "duplicate_of_seq": _masked(b.m_dup_seq),
        }
    )
    register(con, "_r_ie_src", events)
    try:
        with parallel_inserts(con):  # readers order by (instance_id, seq) themselves
            con.execute("INSERT INTO instance_events SELECT * FROM _r_ie_src")
    finally:
        con.unregister("_r_ie_src")


def write_variants(con: duckdb.DuckDBPyConnection, b: Built) -> None:
    variants = pa.table(
        {
            "workflow": [v[0] for v in b.variants],
            "rank": pa.array([v[1] for v in b.variants], pa.int32()),
            "path": pa.array([v[2] for v in b.variants], pa.list_(pa.string())),
            "count": pa.array([v[3] for v in b.variants], pa.int64()),
            "share": pa.array([v[4] for v in b.variants], pa.float64()),
        }
    )
    con.register("_r_var_src", variants)
    try:
        con.execute("INSERT INTO variants SELECT * FROM _r_var_src")
    finally:
        con.unregister("_r_var_src")


def insert_judged(con: duckdb.DuckDBPyConnection, instances: str, verdicts: str) -> None:
    """``instances`` rows from the relation ``instances`` with their status from ``verdicts``."""
    columns = ", ".join(
        "coalesce(e.status, 'running')" if c == "status" else f's."{c}"' for c in INSTANCE_COLUMNS
    )
    with parallel_inserts(con):  # readers order instances themselves
        con.execute(
            f"INSERT INTO instances SELECT {columns} "
            f"FROM {instances} s LEFT JOIN {verdicts} e USING (instance_id)"
        )


def keep_variant_ranks(con: duckdb.DuckDBPyConnection, instances: str) -> None:
    """Known variants keep their rank; a path not seen at the last rebuild has none yet."""
    con.execute(
        f"""
        UPDATE {instances} SET variant = v.rank FROM (
            SELECT ie.instance_id, list(e.event_type ORDER BY ie.seq) AS path
            FROM instance_events ie JOIN log_events e USING (topic, partition, "offset")
            WHERE ie.duplicate_of_seq IS NULL AND ie.instance_id IN (SELECT instance_id FROM {instances})
            GROUP BY 1
        ) p JOIN variants v ON v.path = p.path
        WHERE p.instance_id = {instances}.instance_id AND v.workflow = {instances}.workflow
        """
    )


def aside_table(
    f: Frame, rec: npt.NDArray[np.int64], inst: npt.NDArray[np.int64], instance_id: pa.Array
) -> pa.Table:
    """``not_events`` rows: every record of the frame that is not an event,
    why, and the instance whose value it carries (``rec``/``inst``: the placed ones)."""
    which = np.flatnonzero(f.aside)
    topic, partition, offset = f.coordinates(which)
    placed = np.full(f.n, -1, dtype=np.int64)
    placed[rec] = inst
    at = placed[which]
    reasons = pa.array([ASIDE_REASONS.get(c, "not an event") for c in range(256)], pa.string())
    return pa.table(
        {
            "topic": topic.dictionary_decode(),
            "partition": partition,
            "offset": offset,
            "reason": reasons.take(pa.array(f.aside[which].astype(np.int32))),
            "instance_id": instance_id.take(pa.array(at, mask=at < 0)),
        }
    )


def write_aside(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    con.register("_r_aside_src", table)
    try:
        con.execute("INSERT INTO not_events SELECT * FROM _r_aside_src")
    finally:
        con.unregister("_r_aside_src")
