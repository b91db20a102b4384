"""Live updates: which events are new, and which stored instances they touch.

Stored instances are closed under stitching, so the instances sharing a
stitching value or a causation link with a new event, plus the new events,
are everything an update can change.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from choreo.reconstruct.engine.stages import Relation, Work
from choreo.reconstruct.engine.values import KEY, key_name, stored_name


def new_events(w: Work, rel: Relation, keys: Sequence[tuple[str, int, int]] | None, watermark: int) -> int:
    """Give ``rel``: the events to fold in (``keys``, or stored since the watermark); returns their number."""
    con = w.con
    cols = 'e.topic, e.partition, e."offset", e.event_id, e.causation_id'
    if keys is not None:
        given = Relation("_r_keys_src", "the coordinates asked for")
        w.register(
            given,
            pa.table(
                {
                    "topic": pa.array([k[0] for k in keys], pa.string()),
                    "partition": pa.array([k[1] for k in keys], pa.int32()),
                    "offset": pa.array([k[2] for k in keys], pa.int64()),
                }
            ),
        )
        try:
            w.table(
                rel,
                f"SELECT {cols} FROM log_events e "
                f'SEMI JOIN {given.name} k USING (topic, partition, "offset")',
            )
        finally:
            w.drop(given)
    else:
        # The same millisecond as the watermark is read again: refolding is idempotent.
        w.table(rel, f"SELECT {cols} FROM log_events e WHERE e.ingested_ms >= ?", [watermark])
    row = con.execute(f"SELECT count(*) FROM {rel.name}").fetchone()
    return int(row[0]) if row else 0


def new_names(w: Work, new: Relation) -> set[str]:
    """The link names (``values.py``: the record key per topic) the new events' identifiers count under."""
    rows = w.con.execute(
        f"SELECT DISTINCT CASE WHEN name = '{KEY}' THEN '{key_name('')}' || topic ELSE name END "
        f'FROM log_identifiers SEMI JOIN {new.name} USING (topic, partition, "offset")'
    ).fetchall()
    return {str(r[0]) for r in rows}


def affected(
    w: Work,
    new: Relation,
    used: list[str],
    found: pa.Table,
    found_causes: pa.Table,
    touch: Relation,
    aff: Relation,
    scope: Relation,
) -> None:
    """Give ``touch`` (events sharing a stitching value or a causation link with
    a new one, and the new ones), ``aff`` (the stored instances they belong to,
    or that carry one of the new events' values: found fields and causation
    ids found by value are in ``instance_keys``, not in the raw identifiers)
    and ``scope`` (every event of those instances, and the touched events).

    ``used``: the link names that stitch; ``found``/``found_causes``: the new
    events' fields found by value (``h, name, value, vh``)."""
    raw = sorted({stored_name(n) for n in used})
    found_values = Relation("_r_new_found", "values of the new events' fields found by value")
    found_causes_rel = Relation("_r_new_causes", "causation ids of the new events, found by value")
    w.register(found_values, found)
    w.register(found_causes_rel, found_causes)
    try:
        w.table(
            touch,
            f"""
            WITH vals AS (
                SELECT DISTINCT i.value FROM log_identifiers i
                SEMI JOIN {new.name} n USING (topic, partition, "offset")
                WHERE list_contains(?, i.name)
                UNION SELECT value FROM {found_values.name}
            )
            SELECT topic, partition, "offset" FROM log_identifiers
            WHERE list_contains(?, name) AND value IN (SELECT value FROM vals)
            UNION
            SELECT topic, partition, "offset" FROM log_events
            WHERE event_id IN (SELECT causation_id FROM {new.name} WHERE causation_id IS NOT NULL)
               OR event_id IN (SELECT value FROM {found_causes_rel.name})
               OR causation_id IN (SELECT event_id FROM {new.name} WHERE event_id IS NOT NULL)
            UNION
            SELECT topic, partition, "offset" FROM {new.name}
            """,
            [raw, raw],
        )
        w.table(
            aff,
            f"""
            SELECT instance_id FROM instance_events SEMI JOIN {touch.name} USING (topic, partition, "offset")
            UNION
            SELECT instance_id FROM instance_keys WHERE key_hash IN (
                SELECT hash(i.value) FROM log_identifiers i
                SEMI JOIN {new.name} n USING (topic, partition, "offset") WHERE list_contains(?, i.name)
                UNION SELECT vh FROM {found_values.name}
                UNION SELECT hash(event_id) FROM {new.name} WHERE event_id IS NOT NULL
            )
            """,
            [raw],
        )
    finally:
        w.drop(found_values)
        w.drop(found_causes_rel)
    w.table(
        scope,
        f"""
        SELECT topic, partition, "offset" FROM instance_events SEMI JOIN {aff.name} USING (instance_id)
        UNION
        SELECT topic, partition, "offset" FROM {touch.name}
        """,
    )
