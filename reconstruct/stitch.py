"""Union-find over identifier values and causation links, vectorised.

Every original (non-duplicate) event is a node; an identifier value used for
stitching links all events carrying it (each to the lowest-numbered one), and
a causation id links an event to the event it names. Connected components
(scipy's C implementation) are the instances. An event with no stitching
identifier and no causation link belongs to no instance.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from reconstruct.keys import KeyStat, normalise_name

I64 = npt.NDArray[np.int64]


def _stitch_names_table(con: duckdb.DuckDBPyConnection, stats: list[KeyStat]) -> None:
    names = [s.name for s in stats if s.used_for_stitching]
    con.execute("DROP TABLE IF EXISTS _r_names")
    con.register(
        "_r_names_src",
        pa.table({"name": names, "norm": [normalise_name(n) for n in names]}, schema=_NAMES_SCHEMA),
    )
    con.execute("CREATE TEMP TABLE _r_names AS SELECT * FROM _r_names_src")
    con.unregister("_r_names_src")


_NAMES_SCHEMA = pa.schema([("name", pa.string()), ("norm", pa.string())])


def build_links(con: duckdb.DuckDBPyConnection, stats: list[KeyStat]) -> None:
    """``_r_link(eid, v)``: each original event and the namespaced values it links by."""
    _stitch_names_table(con, stats)
    # The record key, when numeric, means what it usually equals on its topic.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_keyalias AS
        WITH k AS (
            SELECT e.topic, o.name, count(*) AS n
            FROM _r_id k JOIN _r_id o ON o.eid = k.eid AND o.value = k.value AND o.name <> 'key'
            JOIN _r_ev e ON e.eid = k.eid
            WHERE k.name = 'key' AND NOT k.dup
            GROUP BY ALL
        )
        SELECT k.topic, arg_max(n.norm, k.n) AS norm
        FROM k JOIN _r_names n USING (name) GROUP BY k.topic
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_link AS
        SELECT i.eid,
               CASE WHEN regexp_full_match(i.value, '[0-9]+') THEN
                        CASE WHEN i.name = 'key' THEN coalesce(a.norm, 'key') ELSE n.norm END
                        || '#' || i.value
                    ELSE i.value END AS v
        FROM _r_id i JOIN _r_names n USING (name)
        LEFT JOIN (SELECT e.eid, ka.norm FROM _r_ev e JOIN _r_keyalias ka USING (topic)) a
               ON a.eid = i.eid AND i.name = 'key'
        WHERE NOT i.dup
        """
    )


def components(con: duckdb.DuckDBPyConnection, n_events: int) -> tuple[I64, int]:
    """Component label per eid (-1: not in any instance) and the number of instances."""
    edges = con.execute(
        """
        WITH rep AS (SELECT v, min(eid) AS r FROM _r_link GROUP BY v)
        SELECT l.eid AS a, rep.r AS b FROM _r_link l JOIN rep USING (v)
        UNION ALL
        SELECT c.eid AS a, p.canon AS b
        FROM _r_ev c
        JOIN (SELECT event_id, min(eid) AS canon FROM _r_ev
              WHERE event_id IS NOT NULL AND eid NOT IN (SELECT eid FROM _r_dupmap)
              GROUP BY event_id) p ON p.event_id = c.causation_id
        WHERE c.causation_id IS NOT NULL AND c.eid NOT IN (SELECT eid FROM _r_dupmap)
        """
    ).fetchnumpy()
    a = np.asarray(edges["a"], dtype=np.int64)
    b = np.asarray(edges["b"], dtype=np.int64)
    linked = np.zeros(n_events, dtype=bool)
    linked[a] = True
    linked[b] = True
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n_events, n_events)).tocsr()
    _, labels = connected_components(graph, directed=True, connection="weak")
    labels = labels.astype(np.int64)
    # Dense numbering of the linked components only.
    out = np.full(n_events, -1, dtype=np.int64)
    uniq, inv = np.unique(labels[linked], return_inverse=True)
    out[linked] = inv
    return out, int(uniq.size)
