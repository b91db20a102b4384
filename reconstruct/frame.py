"""The working frame: events numbered densely, their identifiers, duplicates.

Temporary tables on the store's connection (dropped by ``drop_frame``):

- ``_r_ev(eid, topic, partition, offset, ts, event_type, service, event_id,
  causation_id, dkey)``: one row per stored record. ``ts`` is the broker
  timestamp, else the time the event states, else 0.
- ``_r_id(eid, name, value, event_type, dup)``: the identifiers.
- ``_r_dupmap(eid, canon)``: redelivered duplicates and the record they
  repeat. Two records are the same event when they have the same type and
  event id, or (without an event id) the same type, payload and identifiers.
  The earliest stamped copy is the original.

``scope`` restricts the frame to the records listed in the temp table
``_r_scope(topic, partition, offset)`` (incremental updates).
"""

from __future__ import annotations

import duckdb

FRAME_TABLES = ("_r_ev", "_r_id", "_r_dupmap", "_r_idh")


def build_frame(con: duckdb.DuckDBPyConnection, *, scoped: bool = False) -> int:
    """Fill the frame tables; returns the number of records."""
    drop_frame(con)
    scope_join = 'SEMI JOIN _r_scope s USING (topic, partition, "offset")' if scoped else ""
    con.execute(
        f"""
        CREATE TEMP TABLE _r_ev AS
        SELECT row_number() OVER () - 1 AS eid, e.topic, e.partition, e."offset",
               coalesce(e.ts_ms, e.event_time_ms, 0) AS ts,
               e.event_type, e.service, e.event_id, e.causation_id,
               CASE WHEN e.event_id IS NOT NULL THEN hash(e.event_type, e.event_id)
                    ELSE hash(e.event_type, e.payload, e.key) END AS dkey
        FROM log_events e {scope_join}
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE _r_id AS
        SELECT e.eid, i.name, i.value, e.event_type, false AS dup
        FROM log_identifiers i JOIN _r_ev e USING (topic, partition, "offset")
        """
    )
    # Events without an event id are the same event only if their
    # identifiers match too (headers such as correlation-id are not in the payload).
    con.execute(
        """
        CREATE TEMP TABLE _r_idh AS
        SELECT i.eid, bit_xor(hash(i.name, i.value)) AS h
        FROM _r_id i SEMI JOIN (SELECT eid FROM _r_ev WHERE event_id IS NULL) n USING (eid)
        GROUP BY i.eid
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE _r_dupmap AS
        WITH k AS (
            SELECT e.eid, e.ts, CASE WHEN e.event_id IS NULL THEN hash(e.dkey, coalesce(h.h, 0))
                                     ELSE e.dkey END AS dkey
            FROM _r_ev e LEFT JOIN _r_idh h USING (eid)
        ),
        g AS (
            SELECT dkey, arg_min(eid, [ts, eid]) AS canon FROM k GROUP BY dkey HAVING count(*) > 1
        )
        SELECT k.eid, g.canon FROM k JOIN g USING (dkey) WHERE k.eid <> g.canon
        """
    )
    con.execute("UPDATE _r_id SET dup = true WHERE eid IN (SELECT eid FROM _r_dupmap)")
    row = con.execute("SELECT count(*) FROM _r_ev").fetchone()
    return int(row[0]) if row else 0


def drop_frame(con: duckdb.DuckDBPyConnection) -> None:
    for t in FRAME_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {t}")
