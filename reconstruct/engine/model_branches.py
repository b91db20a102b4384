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
from choreo.reconstruct.engine.model_kinds import Expect, Workflow
from choreo.reconstruct.engine.model_structure import MIN_SUPPORT, Structure
from choreo.reconstruct.engine.workflows import I64

_SAMPLE = 4_000  # finished instances per workflow (shares of thousands are precise enough)
_BUCKETS = 20
_PER_BUCKET = 20
_ACTIVE = 0.25  # a stretch where the branch came this often: its service was working
_COVERAGE = 0.05  # working stretches must hold this share of the parent's occurrences
_MIN_WORKING = 20  # ... and this many
_PARENT_FIRST = 0.95
_SEQUENTIAL_SHARE = 0.99
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


def _working(n: npt.NDArray[np.int64], got: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """The stretches where the branch's service was working: the branch came in
    at least ``_ACTIVE`` of them; a stretch next to one where it did not is
    left out when others remain (an outage starting or ending inside it)."""
    share = np.where(n > 0, got / np.maximum(n, 1), 0.0)
    active = (n > 0) & (share >= _ACTIVE)
    idle = ~active
    edge = np.zeros(active.size, dtype=bool)
    edge[1:] |= idle[:-1]
    edge[:-1] |= idle[1:]
    inner = active & ~edge
    return inner if inner.any() else active


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
        par = branch_types(s, wi, kinds)
        if par:
            branches[wi] = par
    chosen = _chosen(b, f, wfs, list(range(len(b.workflows))))
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
    stats: dict[tuple[int, int, int], dict[int, tuple[int, int, list[int]]]] = {}
    for w, p, c, bk, _n, after, before, lat in rows:
        if c is None:
            continue
        stats.setdefault((int(w), int(p), int(c)), {})[int(bk)] = (int(after), int(before), list(lat or []))
    n_buckets: dict[tuple[int, int], int] = {}
    for w, t, bk in per_bucket:
        n_buckets[(w, t)] = max(n_buckets.get((w, t), 0), bk + 1)
    share_min = cfg.reconstruct.branch_share
    found: dict[
        tuple[int, int], list[tuple[int, float, float, float]]
    ] = {}  # (w, c) -> [(p, p50, share, p99)]
    for (w, p, c), by_bucket in stats.items():
        parallel = c in branches.get(w, set())
        if parallel and p in branches[w] and s.concurrent(w, p, c):
            continue
        nb = n_buckets.get((w, p), 0)
        n = np.array([per_bucket.get((w, p, i), 0) for i in range(nb)], dtype=np.int64)
        got = np.array([by_bucket.get(i, (0, 0, []))[0] for i in range(nb)], dtype=np.int64)
        before = sum(x[1] for x in by_bucket.values())
        n_p, after = int(n.sum()), int(got.sum())
        if n_p < MIN_SUPPORT or after + before == 0 or after < _PARENT_FIRST * (after + before):
            continue
        if not parallel and n_p - after - before == 0:
            continue  # a step every finished instance has: the next-step rules cover it
        working = _working(n, got)
        n_act = int(n[working].sum())
        if n_act < max(_MIN_WORKING, _COVERAGE * n_p):
            continue
        share = float(got[working].sum()) / n_act
        # A step that is not parallel to another is expected when, while its
        # service worked, it (nearly) never was skipped.
        if share < (share_min if parallel else max(share_min, _SEQUENTIAL_SHARE)):
            continue
        active = [by_bucket.get(i, (0, 0, [])) for i in np.flatnonzero(working).tolist()]
        lat = normal_latencies(np.asarray([v for x in active for v in x[2]], dtype=np.float64))
        if lat.size == 0:
            continue
        p50, p99 = float(np.quantile(lat, 0.5)), float(np.quantile(lat, 0.99))
        found.setdefault((w, c), []).append((p, p50, share, p99))
    children = {(w, c) for (w, c) in found}
    learned = {(lk.cluster, lk.child): lk.parent for lk in (b.precedence.links if b.precedence else [])}
    for (w, c), cands in found.items():
        # The parent that fans out: not a branch nor itself expected (it may be
        # missing too); among those the learned precedence's, else the nearest.
        def rank(x: tuple[int, float, float, float], w: int = w, c: int = c) -> tuple[int, int, float]:
            p = x[0]
            return (
                int(p in branches.get(w, set())) + int((w, p) in children),
                0 if learned.get((w, c)) == p else 1,
                x[1],
            )

        p, _p50, share, p99 = min(cands, key=rank)
        wf = wfs[b.workflows[w]]
        p_name, c_name = f.types[p], f.types[c]
        past: tuple[str, ...] = ()
        if c not in branches.get(w, set()):
            # A step that is not parallel is missing only once the instance has
            # moved past it (else it is simply the next step, not yet due).
            later = [
                t
                for t in wf.nodes
                if code[t] != c
                and s.together(w, c, code[t]) >= MIN_SUPPORT
                and s.before[w, c, code[t]] >= _PARENT_FIRST * s.together(w, c, code[t])
            ]
            past = tuple(sorted(later))
        wf.expect.setdefault((p_name, c_name), Expect(share, p99, wf.nodes[c_name].service, "fan-out", past))
