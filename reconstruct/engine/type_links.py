"""Which event types of a workflow are tied to each other directly.

Two types are tied in an instance when an event of one and an event of the
other carry the same stitching value, or one names the other as its cause.
Counted over a sample of each workflow's instances, against how many of them
hold both (``model_links``). The judge uses it for instances whose
beginning was cut by retention: such a fragment is not stuck waiting for a
type that never carries anything it holds, since that event, had it come,
could not have joined it (it sits in another fragment, unseen as its end).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from choreo.core.schema import MODEL_LINKS
from choreo.reconstruct.engine.frame import Frame, register
from choreo.reconstruct.engine.instances import Built
from choreo.reconstruct.engine.workflows import I64

PER_WORKFLOW = 3_000  # sampled instances per workflow: shares, not counts, are used
MIN_TOGETHER = 3

_SCHEMA = MODEL_LINKS.arrow_schema()


def _sample(b: Built) -> np.ndarray:
    """Per instance: whether it is in the sample (deterministic)."""
    take = np.zeros(b.k, dtype=bool)
    rnd = np.random.default_rng(0).random(b.k)
    for w in range(len(b.workflows)):
        mine = np.flatnonzero(b.wf == w)
        take[mine[np.argsort(rnd[mine], kind="stable")[:PER_WORKFLOW]]] = True
    return take


def type_links(
    con: duckdb.DuckDBPyConnection, f: Frame, b: Built, comp: I64, links: tuple[I64, np.ndarray], parent: I64
) -> pa.Table:
    """``model_links`` rows: per workflow and pair of types, instances holding
    both and instances where they are tied directly."""
    if b.k == 0:
        return _SCHEMA.empty_table()
    take = _sample(b)
    eid, link = links
    inst = comp[eid]
    ok = inst >= 0
    ok[ok] = take[inst[ok]]
    child = np.flatnonzero((parent >= 0) & (comp >= 0))
    child = child[take[comp[child]]]
    register(
        con,
        "_r_tl_vals",
        pa.table({"inst": inst[ok], "typ": f.typ[eid[ok]], "link": link[ok]}),
    )
    register(con, "_r_tl_caus", pa.table({"inst": comp[child], "a": f.typ[parent[child]], "b": f.typ[child]}))
    try:
        tied = con.execute(
            """
            WITH v AS (SELECT DISTINCT inst, link, typ FROM _r_tl_vals),
            p AS (
                SELECT a.inst, a.typ AS a, b.typ AS b FROM v a JOIN v b
                    ON a.inst = b.inst AND a.link = b.link AND a.typ < b.typ
                UNION
                SELECT inst, least(a, b), greatest(a, b) FROM _r_tl_caus WHERE a <> b
            )
            SELECT inst, a, b FROM p
            """
        ).fetchnumpy()
    finally:
        con.unregister("_r_tl_vals")
        con.unregister("_r_tl_caus")
    n_types = len(f.types)
    names: list[str] = []
    ta: list[str] = []
    tb: list[str] = []
    together: list[int] = []
    linked: list[int] = []
    t_inst = np.asarray(tied["inst"], dtype=np.int64)
    t_pair = np.asarray(tied["a"], dtype=np.int64) * n_types + np.asarray(tied["b"], dtype=np.int64)
    for w, name in enumerate(b.workflows):
        mine = np.flatnonzero(take & (b.wf == w))
        x = b.presence[mine].astype(np.int64)
        both = x.T @ x
        sel = b.wf[t_inst] == w
        cnt = np.bincount(t_pair[sel], minlength=n_types * n_types).reshape(n_types, n_types)
        for a, bb in zip(*np.nonzero(np.triu(both, 1) >= MIN_TOGETHER), strict=True):
            first, second = sorted((f.types[a], f.types[bb]))
            names.append(name)
            ta.append(first)
            tb.append(second)
            together.append(int(both[a, bb]))
            linked.append(int(cnt[a, bb] + cnt[bb, a]))
    return pa.table(
        {"workflow": names, "type_a": ta, "type_b": tb, "together": together, "linked": linked},
        schema=_SCHEMA,
    )


def write_type_links(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    register(con, "_r_tl_out", table)
    try:
        con.execute("INSERT INTO model_links SELECT * FROM _r_tl_out")
    finally:
        con.unregister("_r_tl_out")
