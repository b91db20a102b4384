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

A start type's alternatives (a minority start type, never found with it)
expect the branch in their own instances. A sequential step every
finished instance has is left to the next-step rules while it is next;
once later types came (its slower sibling branch, a step after it) those
no longer see it, so it is expected from its cause like a branch, once
the instance has moved past it.
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
_BUCKETS = 50
_PER_BUCKET = 20
_ACTIVE = 0.25  # a stretch where the branch came this often: its service was working
_COVERAGE = 0.05  # working stretches must hold this share of the parent's occurrences
_MIN_WORKING = 20  # ... and this many
_MIN_STOPPED = 8  # a branch that stopped for good: seen this often before it did
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


_DELAYED = 10.0  # a stretch whose fast quarter is this much slower than usual: an outage's backlog


def delayed_stretches_out(lat: npt.NDArray[np.float64], bucket: I64) -> npt.NDArray[np.float64]:
    """Latencies less the stretches of time an outage delayed as a whole (the
    service came back and worked off its backlog: minutes or hours late for a
    third of the log, say). A slow path taken now and then (a human approval
    beside an automatic one) is in every stretch alike and stays."""
    if lat.size < 20:
        return lat
    ids, inv = np.unique(bucket, return_inverse=True)
    if ids.size < 3:
        return lat
    # A stretch's fast quarter: an outage delays all of a stretch, a slow
    # path only some of each.
    low = np.array([np.quantile(lat[inv == i], 0.25) for i in range(ids.size)])
    usual = max(float(np.median(low)), 1.0)
    keep = low <= _DELAYED * usual
    return lat[keep[inv]]


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
            # Or in nearly all of the rarer one's, when it is no handful: a
            # branch whose service went down early is rare, not noise.
            n = max(int(s.present[w, a]), int(s.present[w, bb]))
            rare = min(int(s.present[w, a]), int(s.present[w, bb]))
            both = s.together(w, a, bb)
            paired = both >= max(MIN_SUPPORT, _PAIRED * n) or (
                rare >= _MIN_STOPPED and both >= _SEQUENTIAL_SHARE * rare
            )
            if s.concurrent(w, a, bb) and paired:
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
                SELECT ft.*, rnk * greatest(1, least({_BUCKETS}, cnt.n // {_PER_BUCKET})) // cnt.n AS bucket
                FROM (
                    SELECT *, row_number() OVER (PARTITION BY wf, typ ORDER BY t, inst) - 1 AS rnk FROM ft
                ) ft JOIN cnt USING (wf, typ)
            )
        """
        con.execute("CREATE OR REPLACE TEMP TABLE _r_fan_pt AS " + sql + "SELECT * FROM pt")
        rows = con.execute(
            """
            WITH ft AS (SELECT inst, wf, typ, min(t) AS t FROM _r_fan_src GROUP BY ALL)
            SELECT p.wf, p.typ, c.typ, p.bucket,
                   count(*) FILTER (WHERE c.t >= p.t) AS after, count(*) FILTER (WHERE c.t < p.t) AS before,
                   max(p.rnk) FILTER (WHERE c.t >= p.t) AS last
            FROM _r_fan_pt p JOIN ft c ON c.inst = p.inst AND c.typ <> p.typ
            GROUP BY ALL
            """
        ).fetchall()
        per_bucket = {
            (int(w), int(t), int(bk)): int(n)
            for w, t, bk, n in con.execute(
                "SELECT wf, typ, bucket, count(*) FROM _r_fan_pt GROUP BY ALL"
            ).fetchall()
        }
        found, inside = _candidates(
            rows,
            per_bucket,
            branches,
            s,
            cfg.reconstruct.branch_share,
            b.precedence.causes if b.precedence else {},
        )
        latency = _latencies(con, found)
    finally:
        con.execute("DROP TABLE IF EXISTS _r_fan_pt")
        con.unregister("_r_fan_src")
    _expect(f, b, wfs, s, branches, found, latency, inside)


# (workflow, child) -> candidate parents: (parent, share, working buckets)
_Found = dict[tuple[int, int], list[tuple[int, float, list[int]]]]


def _candidates(
    rows: list[tuple[int, int, int, int, int, int, int | None]],
    per_bucket: dict[tuple[int, int, int], int],
    branches: dict[int, set[int]],
    s: Structure,
    share_min: float,
    causes: dict[tuple[int, int], int],
) -> tuple[_Found, set[tuple[int, int]]]:
    """Which (parent, child) pairs are expected, on the counts per stretch of
    time; and which children are the next step inside a branch."""
    stats: dict[tuple[int, int, int], dict[int, tuple[int, int]]] = {}
    last_seen: dict[tuple[int, int, int], int] = {}
    for w, p, c, bk, after, before, last in rows:
        key = (int(w), int(p), int(c))
        stats.setdefault(key, {})[int(bk)] = (int(after), int(before))
        if last is not None:
            last_seen[key] = max(int(last), last_seen.get(key, -1))
    n_buckets: dict[tuple[int, int], int] = {}
    for w, t, bk in per_bucket:
        n_buckets[(w, t)] = max(n_buckets.get((w, t), 0), bk + 1)
    found: _Found = {}
    inside: set[tuple[int, int]] = set()
    for (w, p, c), by_bucket in stats.items():
        parallel = c in branches.get(w, set())
        if parallel and p in branches[w] and s.concurrent(w, p, c):
            continue
        nb = n_buckets.get((w, p), 0)
        n = np.array([per_bucket.get((w, p, i), 0) for i in range(nb)], dtype=np.int64)
        got = np.array([by_bucket.get(i, (0, 0))[0] for i in range(nb)], dtype=np.int64)
        before = sum(x[1] for x in by_bucket.values())
        n_p, after = int(n.sum()), int(got.sum())
        if n_p < MIN_SUPPORT or after + before == 0 or after < _PARENT_FIRST * (after + before):
            continue
        if not parallel and n_p - after - before == 0:
            # A step every finished instance has: the next-step rules cover
            # it while it is next. Once later types came (a sibling branch,
            # a step after it) they no longer see it: from its cause it is
            # then expected as a branch is.
            if causes.get((w, c)) != p:
                continue
            inside.add((w, c))
        # A step that is not parallel to another is expected when, while its
        # service worked, it (nearly) never was skipped.
        need = share_min if parallel else max(share_min, _SEQUENTIAL_SHARE)
        working = _working(n, got)
        n_act = int(n[working].sum())
        share = float(got[working].sum()) / max(n_act, 1)
        if n_act >= max(_MIN_WORKING, _COVERAGE * n_p) and share >= need:
            found.setdefault((w, c), []).append((p, share, np.flatnonzero(working).tolist()))
            continue
        # Else: it came from the start of the log and then stopped for good
        # (its service went down and is still down, however early): the
        # parent's occurrences up to its last one are what normal looks like.
        last = last_seen.get((w, p, c), -1)
        if after >= _MIN_STOPPED and 0 <= last < n_p - 1 and after >= need * (last + 1):
            buckets = list(range(last * nb // n_p + 1))
            found.setdefault((w, c), []).append((p, after / (last + 1), buckets))
    return found, inside


def _latencies(
    con: duckdb.DuckDBPyConnection, found: _Found
) -> dict[tuple[int, int, int], tuple[float, float]]:
    """(p50, p99) of parent -> child over the working stretches, outage delays
    left out, from the parent's latest event before the child."""
    keys = [(w, p, c, bk) for (w, c), cands in found.items() for p, _sh, buckets in cands for bk in buckets]
    if not keys:
        return {}
    con.register(
        "_r_fan_keys",
        pa.table({k: [x[i] for x in keys] for i, k in enumerate(("wf", "p", "c", "bucket"))}),
    )
    try:
        # From the parent's latest event before the branch: after a loop or a
        # lifecycle the branch waits for its last round, not its first.
        rows = con.execute(
            """
            WITH ft AS (SELECT inst, wf, typ, min(t) AS t FROM _r_fan_src GROUP BY ALL),
            -- The parents in the working buckets first: left to itself the
            -- planner joins every instance's child types first (40x the rows).
            pk AS MATERIALIZED (
                SELECT k.wf, k.p, k.c, k.bucket, p.inst, p.t
                FROM _r_fan_keys k JOIN _r_fan_pt p ON p.wf = k.wf AND p.typ = k.p AND p.bucket = k.bucket
            ),
            lat AS (
                SELECT pk.wf, pk.p, pk.c, pk.bucket, c.t - max(e.t) AS lat
                FROM pk JOIN ft c ON c.inst = pk.inst AND c.typ = pk.c AND c.t >= pk.t
                JOIN _r_fan_src e ON e.inst = pk.inst AND e.typ = pk.p AND e.t <= c.t
                GROUP BY pk.wf, pk.p, pk.c, pk.bucket, c.inst, c.t
            )
            SELECT wf, p, c, list(lat ORDER BY bucket), list(bucket ORDER BY bucket) FROM lat GROUP BY ALL
            """
        ).fetchall()
    finally:
        con.unregister("_r_fan_keys")
    out: dict[tuple[int, int, int], tuple[float, float]] = {}
    for w, p, c, lat, bucket in rows:
        normal = normal_latencies(
            delayed_stretches_out(np.asarray(lat, dtype=np.float64), np.asarray(bucket, dtype=np.int64))
        )
        if normal.size:
            out[(int(w), int(p), int(c))] = (
                float(np.quantile(normal, 0.5)),
                float(np.quantile(normal, 0.99)),
            )
    return out


def _expect(
    f: Frame,
    b: Built,
    wfs: dict[str, Workflow],
    s: Structure,
    branches: dict[int, set[int]],
    found: _Found,
    latency: dict[tuple[int, int, int], tuple[float, float]],
    inside: set[tuple[int, int]],
) -> None:
    code = {t: i for i, t in enumerate(f.types)}
    children = set(found)
    causes = b.precedence.causes if b.precedence else {}
    before = {(lk.cluster, lk.parent, lk.child) for lk in (b.precedence.links if b.precedence else [])}
    for (w, c), cands in found.items():
        timed = {p: share for p, share, _b in cands if (w, p, c) in latency}
        if not timed:
            continue
        p = fan_parent(
            list(timed),
            cause=causes.get((w, c)),
            branches=branches.get(w, set()),
            expected={p for p in timed if (w, p) in children},
            before={(x, y) for x in timed for y in timed if (w, x, y) in before},
            p50={p: latency[(w, p, c)][0] for p in timed},
        )
        wf = wfs[b.workflows[w]]
        c_name = f.types[c]
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
            if not past and (w, c) in inside:
                continue  # missing only once the instance moved past it
        # Another start type fans the child out in its own instances.
        # (Only starts: a type found apart from the parent may sit anywhere
        # else, in another choreography sharing the child's type, say.)
        starts = {q for q in timed if wf.nodes[f.types[q]].start}
        alternatives = [q for q in starts if p in starts and q != p and s.exclusive(w, p, q)]
        for q in [p, *alternatives]:
            wf.expect.setdefault(
                (f.types[q], c_name),
                Expect(timed[q], latency[(w, q, c)][1], wf.nodes[c_name].service, "fan-out", past),
            )


def fan_parent(
    cands: list[int],
    *,
    cause: int | None,
    branches: set[int],
    expected: set[int],
    before: set[tuple[int, int]],
    p50: dict[int, float],
) -> int:
    """The parent that fans out a child, among the types before it in (nearly)
    every instance: the type its time depends on the least (``cause``, from
    the precedence: whatever the order the branches arrive in, and never an
    always-faster sibling); else one that is not a branch; among those the
    latest in the learned order (``before``: pairs known to come in that
    order; a slow branch is about as far from every step before it, so the
    nearest by median latency is chance); then one not itself ``expected``
    (it may be missing too); then the nearest."""

    def rank(p: int) -> tuple[int, int, int, int, float]:
        return (
            0 if cause == p else 1,
            int(p in branches),
            sum((p, q) in before for q in cands),
            int(p in expected),
            p50[p],
        )

    return min(cands, key=rank)
