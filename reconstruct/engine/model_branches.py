"""Fan-out: which parallel branches are expected once their parent step happened.

A branch is a type that runs in parallel with another (both orders of their
first events are common, so a loop's repeats never make one); its parent is
the step before it that it follows in (nearly) every instance, the nearest
one in time. A finished instance missing a branch its parent expects is not
complete, in whatever order the others arrived.

"Expected" is learned from history, not from the current share: the
parent's occurrences are cut in up to ``_BUCKETS`` stretches of time; the
stretches where the branch reported at all are those where its service was
working, and there it must have come in at least ``branch_share`` of the
instances. A service down for hours (or until the dump ends) leaves
stretches without the branch: they do not make it optional.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from choreo.core.config import ChoreoConfig
from choreo.reconstruct.engine.frame import Frame, register
from choreo.reconstruct.engine.instances import Built
from choreo.reconstruct.engine.model_kinds import Workflow
from choreo.reconstruct.engine.model_structure import MIN_SUPPORT, Structure
from choreo.reconstruct.engine.workflows import I64

_SAMPLE = 20_000  # finished instances per workflow
_BUCKETS = 20
_PER_BUCKET = 50
_ACTIVE = 0.25  # a stretch where the branch came this often: its service was working
_COVERAGE = 0.2  # working stretches must hold this share of the parent's occurrences
_PARENT_FIRST = 0.95
_PAIRED = 0.05  # parallel partners together in this share of the more frequent one's instances


def normal_latencies(lat: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Latencies within five median absolute deviations of the median in log space
    (a service down for hours delays its reactions by hours: not its latency)."""
    if lat.size < 20:
        return lat
    log = np.log(np.maximum(lat, 1.0))
    med = float(np.median(log))
    mad = max(float(np.median(np.abs(log - med))), 0.2)
    return lat[log <= med + 5.0 * mad]


def branch_types(s: Structure, w: int, codes: list[int]) -> set[int]:
    """Types running in parallel with another (well supported) type."""
    out: set[int] = set()
    for i, a in enumerate(codes):
        for bb in codes[i + 1 :]:
            # Together in a good share of the more frequent one's instances: a
            # rare noisy type in either order does not make a step a branch.
            n = max(int(s.present[w, a]), int(s.present[w, bb]))
            if s.concurrent(w, a, bb) and s.together(w, a, bb) >= max(MIN_SUPPORT, _PAIRED * n):
                out |= {a, bb}
    return out


def _chosen(b: Built, f: Frame, wfs: dict[str, Workflow], wf_ids: list[int]) -> I64:
    """Finished instances without failure or compensation (a sample per workflow)."""
    n_types = len(f.types)
    code = {t: i for i, t in enumerate(f.types)}
    finished = np.zeros((len(b.workflows), n_types), dtype=bool)
    clean = np.ones((len(b.workflows), n_types), dtype=bool)
    for wi, name in enumerate(b.workflows):
        for t, node in wfs[name].nodes.items():
            finished[wi, code[t]] = node.terminal and node.kind == "normal"
            clean[wi, code[t]] = node.kind == "normal"
    ok = np.isin(b.wf, wf_ids) & finished[b.wf, f.typ[b.last]]
    rows, cols = np.nonzero(b.presence)
    dirty = np.zeros(b.k, dtype=bool)
    dirty[rows[~clean[b.wf[rows], cols]]] = True
    chosen = np.flatnonzero(ok & ~dirty)
    rnd = np.random.default_rng(0).random(chosen.size)
    keep = np.zeros(chosen.size, dtype=bool)
    for w in wf_ids:
        mine = np.flatnonzero(b.wf[chosen] == w)
        keep[mine[np.argsort(rnd[mine])[:_SAMPLE]]] = True
    return chosen[keep]


def fan_out(
    con: duckdb.DuckDBPyConnection,
    f: Frame,
    b: Built,
    wfs: dict[str, Workflow],
    cfg: ChoreoConfig,
    s: Structure,
) -> None:
    code = {t: i for i, t in enumerate(f.types)}
    branches: dict[int, set[int]] = {}
    for wi, name in enumerate(b.workflows):
        kinds = [code[t] for t in wfs[name].nodes]
        got = branch_types(s, wi, kinds)
        if got:
            branches[wi] = got
    if not branches:
        return
    chosen = _chosen(b, f, wfs, sorted(branches))
    pick = np.zeros(b.k, dtype=bool)
    pick[chosen] = True
    sel = pick[b.c_inst]
    register(
        con,
        "_r_fan_src",
        pa.table(
            {"inst": b.c_inst[sel], "wf": b.wf[b.c_inst[sel]], "typ": f.typ[b.c_eid[sel]], "t": b.c_adj[sel]}
        ),
    )
    try:
        sql = f"""
            WITH ft AS (SELECT inst, wf, typ, min(t) AS t FROM _r_fan_src GROUP BY ALL),
            cnt AS (SELECT wf, typ, count(*) AS n FROM ft GROUP BY ALL),
            pt AS (
                SELECT ft.*, (row_number() OVER (PARTITION BY ft.wf, ft.typ ORDER BY ft.t, ft.inst) - 1)
                             * greatest(1, least({_BUCKETS}, cnt.n // {_PER_BUCKET})) // cnt.n AS bucket
                FROM ft JOIN cnt USING (wf, typ)
            )
        """
        rows = con.execute(
            sql
            + """
            SELECT p.wf, p.typ, c.typ, p.bucket, count(*) AS n,
                   count(c.typ) FILTER (WHERE c.t >= p.t) AS after,
                   count(c.typ) FILTER (WHERE c.t < p.t) AS before,
                   list(c.t - p.t) FILTER (WHERE c.t >= p.t) AS lat
            FROM pt p LEFT JOIN ft c ON c.inst = p.inst AND c.typ <> p.typ
            GROUP BY ALL
            """
        ).fetchall()
        per_bucket = {
            (int(w), int(t), int(bk)): int(n)
            for w, t, bk, n in con.execute(
                sql + "SELECT wf, typ, bucket, count(*) FROM pt GROUP BY ALL"
            ).fetchall()
        }
    finally:
        con.unregister("_r_fan_src")
    stats: dict[tuple[int, int, int], list[tuple[int, int, int, list[int]]]] = {}
    for w, p, c, bk, _n, after, before, lat in rows:
        if c is None or int(w) not in branches or int(c) not in branches[int(w)]:
            continue
        n_b = per_bucket.get((int(w), int(p), int(bk)), 0)
        stats.setdefault((int(w), int(p), int(c)), []).append((n_b, int(after), int(before), list(lat or [])))
    best: dict[tuple[int, int], tuple[float, float, float]] = {}  # (w, c) -> (p50, share, p99)
    parent_of: dict[tuple[int, int], int] = {}
    share_min = cfg.reconstruct.branch_share
    learned = {(lk.cluster, lk.child): lk.parent for lk in (b.precedence.links if b.precedence else [])}
    for (w, p, c), buckets in stats.items():
        if p in branches[w] and s.concurrent(w, p, c):
            continue
        n_p = sum(x[0] for x in buckets)
        after = sum(x[1] for x in buckets)
        before = sum(x[2] for x in buckets)
        if n_p < MIN_SUPPORT or after + before == 0 or after < _PARENT_FIRST * (after + before):
            continue
        active = [x for x in buckets if x[0] and x[1] / x[0] >= _ACTIVE]
        n_act = sum(x[0] for x in active)
        if n_act < max(MIN_SUPPORT, _COVERAGE * n_p):
            continue
        share = sum(x[1] for x in active) / n_act
        if share < share_min:
            continue
        lat = normal_latencies(np.asarray([v for x in active for v in x[3]], dtype=np.float64))
        if lat.size == 0:
            continue
        p50, p99 = float(np.quantile(lat, 0.5)), float(np.quantile(lat, 0.99))
        # The parent that fans out: the learned precedence says which, else
        # the nearest in time that is not a branch itself.
        rank = 0.0 if learned.get((w, c)) == p else p50 + (1e15 if p in branches[w] else 0.0)
        if (w, c) not in best or rank < best[(w, c)][0]:
            best[(w, c)] = (rank, share, p99)
            parent_of[(w, c)] = p
    for (w, c), (_p50, share, p99) in best.items():
        wf = wfs[b.workflows[w]]
        p_name, c_name = f.types[parent_of[(w, c)]], f.types[c]
        wf.expect.setdefault((p_name, c_name), (share, p99, wf.nodes[c_name].service, "fan-out"))
