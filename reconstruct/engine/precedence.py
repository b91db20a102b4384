"""Which event type precedes which, and each producer's clock offset,
learned from the data without taking cross-host timestamps at face value.

Per workflow cluster, from a sample of its instances (the first event of
each type per instance):

1. *Adjacency* that no clock can fake: for two types that follow one another
   the spread (variance) of their time difference is that of one step's
   latency; for types further apart it is the sum of the steps' spreads. A
   clock offset shifts a difference but never changes its spread, so the
   minimum spanning tree over the spreads links each type to its neighbour.
2. *Direction* of each link, from evidence weighted by how certain it is:
   causation ids and the Kafka position (same topic-partition) first; then
   the order of two types emitted by the same producer (one clock); then the
   shape of the difference (a latency has its long tail to the right);
   then the order of cross-host timestamps, the weakest. The orientation
   (one root, then single links flipped where that agrees better) is the
   one most of that evidence supports, including certain evidence about
   types that are not neighbours.
3. *Clock offsets* per producer (service): every cause-effect pair of
   types from two services bounds their offset difference (the effect
   cannot come before its cause: ``o_b - o_a <= min(ts_b - ts_a)``). The
   offsets are the smallest (in total) that satisfy every bound, found by a
   linear program; as in Jaeger's adjuster, nothing moves without evidence.
   An offset from few pairs is *weak* (reported, not applied); one beyond
   ``reconstruct.max_clock_offset`` is capped; both say so.
4. *Learned precedence*: a link whose parent type comes first in (nearly)
   every instance once the offsets are applied, or that causation ids or
   Kafka positions confirm, becomes a soft order constraint on every
   instance where the parent type occurs once (``reconstruct.engine.order``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import linprog
from scipy.sparse.csgraph import minimum_spanning_tree

from choreo.reconstruct.engine.frame import np_chunks

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

PER_CLUSTER = 5_000  # sampled instances per cluster
MIN_SUPPORT = 3
PAIR_SHARE = 0.05  # a link needs this share of the rarer type's instances
SKELETON_SHARE = 0.2  # types this frequent (vs the most frequent) shape the tree
MIN_OFFSET_PAIRS = 20  # an offset bounded by fewer pairs is weak
LEARNED_SHARE = 0.95  # parent first in this share of instances (after offsets)
_W_HARD, _W_SAME, _W_SHAPE, _W_RAW = 10.0, 4.0, 2.0, 1.0
_W_SAME_PATH = 1.5  # same producer, types not neighbours: a hint, not a certainty


@dataclass(frozen=True)
class ClockOffset:
    service: str
    estimate_ms: int  # subtract from its timestamps
    applied_ms: int  # what was applied (0 when weak, capped when beyond the cap)
    pairs: int  # cause-effect pairs bounding it
    status: str  # ok | weak | capped | conflict


@dataclass(frozen=True)
class Link:
    """A learned precedence: ``parent`` type before ``child`` type in a cluster."""

    cluster: int
    parent: int
    child: int
    support: int  # instances holding both
    share: float  # of them with the parent first (after clock offsets)
    evidence: str  # causation | partition | clock | timestamps
    enforced: bool


@dataclass
class Precedence:
    clock: I64  # applied offset per service code
    offsets: list[ClockOffset] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    learned: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per event: position or -1

    @property
    def warnings(self) -> list[str]:
        out = []
        for o in self.offsets:
            if o.status == "weak":
                out.append(
                    f"clock offset of {o.service} not applied: {o.estimate_ms} ms from only {o.pairs} "
                    "cause-effect pairs"
                )
            elif o.status == "capped":
                out.append(
                    f"clock offset of {o.service} capped at {o.applied_ms} ms (estimated {o.estimate_ms} ms)"
                )
            elif o.status == "conflict":
                out.append(f"clock offset of {o.service} uncertain: its cause-effect pairs disagree")
        return out


@dataclass
class _Sample:
    """First event of each type per sampled instance, sorted by (instance, type)."""

    inst: I64
    cl: I64
    typ: I64
    svc: I64
    ts: I64
    tp: I64
    off: I64
    single: BOOL  # the type occurs once in the instance


@dataclass
class _Pairs:
    """Per (cluster, a, b) with a < b: statistics of d = ts_b - ts_a."""

    cl: I64
    a: I64
    b: I64
    n: I64
    pos: I64
    neg: I64
    part_ab: I64  # same topic-partition, a's offset first
    part_ba: I64
    var: F64  # winsorized
    med: F64  # median
    shape: F64  # winsorized skewness
    d_sorted: I64  # all d, grouped by pair and sorted
    start: I64  # of each pair's run in d_sorted


def _sample(comp: I64, cluster: I64, original: BOOL) -> BOOL:
    """Instances to learn from: all, or PER_CLUSTER per cluster (deterministic)."""
    k = cluster.size
    take = np.ones(k, dtype=bool)
    sizes = np.bincount(cluster, minlength=int(cluster.max()) + 1 if k else 0)
    if (sizes <= PER_CLUSTER).all():
        return take
    rnd = np.random.default_rng(0).random(k)
    for c in np.flatnonzero(sizes > PER_CLUSTER):
        mine = np.flatnonzero(cluster == c)
        keep = mine[np.argsort(rnd[mine])[:PER_CLUSTER]]
        take[mine] = False
        take[keep] = True
    return take


def _first_events(
    comp: I64, cluster: I64, typ: I64, svc: I64, ts: I64, tp: I64, off: I64, original: BOOL
) -> _Sample:
    chosen = _sample(comp, cluster, original)
    pos = np.flatnonzero(original & (comp >= 0))
    pos = pos[chosen[comp[pos]]]
    srt = pos[np.lexsort((off[pos], ts[pos], typ[pos], comp[pos]))]
    c, t = comp[srt], typ[srt]
    head = np.r_[True, (c[1:] != c[:-1]) | (t[1:] != t[:-1])]
    idx = np.flatnonzero(head)
    counts = np.diff(np.r_[idx, srt.size])
    f = srt[idx]
    return _Sample(comp[f], cluster[comp[f]], typ[f], svc[f], ts[f], tp[f], off[f], counts == 1)


def _pairs(s: _Sample, n_types: int) -> _Pairs:
    n = s.inst.size
    starts = np.r_[0, np.flatnonzero(s.inst[1:] != s.inst[:-1]) + 1] if n else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], n] if n else starts
    m = np.repeat(ends, ends - starts)
    partners = m - np.arange(n) - 1  # rows after each row in its instance
    total = int(partners.sum())
    i = np.repeat(np.arange(n, dtype=np.int64), partners)
    j = i + 1 + (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(partners) - partners, partners))
    key = (s.cl[i] * n_types + s.typ[i]) * n_types + s.typ[j]
    d = s.ts[j] - s.ts[i]
    same_tp = s.tp[i] == s.tp[j]
    uk, gid = np.unique(key, return_inverse=True)
    gid = gid.astype(np.int64)
    g = uk.size
    cnt = np.bincount(gid, minlength=g)
    srt = np.lexsort((d, gid))
    ds = d[srt]
    start = np.r_[0, np.cumsum(cnt)[:-1]].astype(np.int64) if g else np.zeros(0, dtype=np.int64)
    lo = ds[start + np.floor(0.02 * (cnt - 1)).astype(np.int64)] if g else ds[:0]
    hi = ds[start + np.ceil(0.98 * (cnt - 1)).astype(np.int64)] if g else ds[:0]
    clipped = np.clip(ds, np.repeat(lo, cnt), np.repeat(hi, cnt)).astype(np.float64)
    gs = gid[srt]
    mean = np.bincount(gs, weights=clipped, minlength=g) / np.maximum(cnt, 1)
    dev = clipped - mean[gs]
    var = np.bincount(gs, weights=dev**2, minlength=g) / np.maximum(cnt, 1)
    m3 = np.bincount(gs, weights=dev**3, minlength=g) / np.maximum(cnt, 1)
    shape = np.where(var > 0, m3 / np.maximum(var, 1e-12) ** 1.5, 0.0)
    cl, rest = np.divmod(uk, n_types * n_types)
    a, b = np.divmod(rest, n_types)
    return _Pairs(
        cl=cl,
        a=a,
        b=b,
        n=cnt,
        pos=np.bincount(gid, weights=d > 0, minlength=g).astype(np.int64),
        neg=np.bincount(gid, weights=d < 0, minlength=g).astype(np.int64),
        part_ab=np.bincount(gid, weights=same_tp & (s.off[i] < s.off[j]), minlength=g).astype(np.int64),
        part_ba=np.bincount(gid, weights=same_tp & (s.off[i] > s.off[j]), minlength=g).astype(np.int64),
        var=var,
        med=ds[start + (cnt - 1) // 2].astype(np.float64) if g else np.zeros(0),
        shape=shape,
        d_sorted=ds,
        start=start,
    )


def _causation(
    comp: I64, cluster: I64, typ: I64, parent: I64, original: BOOL, n_types: int
) -> dict[int, int]:
    """Causation links per (cluster, parent type, child type) key, over all instances."""
    child = np.flatnonzero(original & (parent >= 0) & (comp >= 0))
    if child.size == 0:
        return {}
    key = (cluster[comp[child]] * n_types + typ[parent[child]]) * n_types + typ[child]
    uk, cnt = np.unique(key, return_counts=True)
    return dict(zip(uk.tolist(), cnt.tolist(), strict=True))


@dataclass
class _Evidence:
    """Per ordered type pair (a before b) of one cluster: votes in [-1, 1] and weights."""

    local: dict[tuple[int, int], float]  # for links: score of a -> b (antisymmetric)
    certain: dict[tuple[int, int], float]  # a before b, weight (one entry per certain pair)
    hard: dict[tuple[int, int], tuple[int, int]]  # (agreeing, total) for a -> b


def _evidence(
    p: _Pairs, rows: I64, svc_of: dict[int, int], caus: dict[int, int], c: int, nt: int
) -> _Evidence:
    local: dict[tuple[int, int], float] = {}
    certain: dict[tuple[int, int], float] = {}
    hard: dict[tuple[int, int], tuple[int, int]] = {}
    for r in rows.tolist():
        a, b, n = int(p.a[r]), int(p.b[r]), int(p.n[r])
        ab = caus.get((c * nt + a) * nt + b, 0) + int(p.part_ab[r])
        ba = caus.get((c * nt + b) * nt + a, 0) + int(p.part_ba[r])
        sign = (int(p.pos[r]) - int(p.neg[r])) / max(n, 1)
        score = 0.0
        if ab + ba:
            score += _W_HARD * (ab - ba) / (ab + ba) * min(1.0, (ab + ba) / MIN_SUPPORT)
            hard[(a, b)] = (ab, ab + ba)
            hard[(b, a)] = (ba, ab + ba)
            if ab + ba >= MIN_SUPPORT and max(ab, ba) >= 0.9 * (ab + ba):
                certain[(a, b) if ab > ba else (b, a)] = _W_HARD
        same = svc_of.get(a, -1) == svc_of.get(b, -2)
        if same:
            score += _W_SAME * sign
            if n >= MIN_SUPPORT and abs(sign) >= 0.8 and (a, b) not in certain and (b, a) not in certain:
                certain[(a, b) if sign > 0 else (b, a)] = _W_SAME_PATH
        else:
            score += _W_RAW * sign
        if n >= 30:
            score += _W_SHAPE * float(np.clip(p.shape[r], -1.0, 1.0))
        local[(a, b)] = score
        local[(b, a)] = -score
    return _Evidence(local, certain, hard)


def _tree(w: F64, counts: I64) -> list[tuple[int, int]]:
    """A spanning forest: the minimum spanning tree of the frequent types (in at
    least ``SKELETON_SHARE`` of the most frequent one's instances), then each
    rarer type joins where it is nearest (Prim's algorithm from the skeleton).
    A rare type's spread comes from few instances: it must not reshape the
    skeleton."""
    frequent = counts >= SKELETON_SHARE * counts.max()
    idx = np.flatnonzero(frequent)
    sub = w[np.ix_(idx, idx)]
    mst = minimum_spanning_tree(sub).tocoo()
    edges = [(int(idx[i]), int(idx[j])) for i, j in zip(mst.row, mst.col, strict=True)]
    placed = frequent.copy()
    sym = np.where(w > 0, w, w.T)
    sym = np.where(sym > 0, sym, np.inf)
    # Prim's algorithm from the skeleton: the nearest unplaced type joins next.
    while not placed.all():
        cand = np.where(placed[:, None] & ~placed[None, :], sym, np.inf)
        u, v = np.unravel_index(int(np.argmin(cand)), cand.shape)
        if not np.isfinite(cand[u, v]):
            break  # the rest links to nothing placed (a separate component)
        edges.append((int(u), int(v)))
        placed[v] = True
    return edges


def _reach(parent_of: dict[int, list[int]], nodes: list[int]) -> dict[int, set[int]]:
    """Ancestors of every node in the directed graph given by parents."""
    memo: dict[int, set[int]] = {}

    def anc(v: int, seen: frozenset[int]) -> set[int]:
        if v in memo:
            return memo[v]
        out: set[int] = set()
        for u in parent_of.get(v, []):
            if u in seen:
                continue
            out.add(u)
            out |= anc(u, seen | {v})
        memo[v] = out
        return out

    for v in nodes:
        anc(v, frozenset())
    return memo


def _score(edges: list[tuple[int, int]], ev: _Evidence, nodes: list[int]) -> float:
    parent_of: dict[int, list[int]] = {}
    for u, v in edges:
        parent_of.setdefault(v, []).append(u)
    anc = _reach(parent_of, nodes)
    total = sum(ev.local.get(e, 0.0) for e in edges)
    for (a, b), w in ev.certain.items():
        if a in anc.get(b, ()):
            total += w
        elif b in anc.get(a, ()):
            total -= w
    return total


def _orient(tree: list[tuple[int, int]], nodes: list[int], ev: _Evidence) -> list[tuple[int, int]]:
    """Orient the tree's links: the best single root, then single flips that agree better."""
    adj: dict[int, list[int]] = {v: [] for v in nodes}
    for u, v in tree:
        adj[u].append(v)
        adj[v].append(u)
    best: list[tuple[int, int]] = []
    best_score = -np.inf
    for root in nodes:
        seen, stack, edges = {root}, [root], []
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v not in seen:
                    seen.add(v)
                    edges.append((u, v))
                    stack.append(v)
        sc = _score(edges, ev, nodes)
        if sc > best_score + 1e-9:
            best, best_score = edges, sc
    improved = True
    rounds = 0
    while improved and rounds < 3 * len(best) + 1:
        improved = False
        rounds += 1
        for i, (u, v) in enumerate(best):
            trial = [*best[:i], (v, u), *best[i + 1 :]]
            sc = _score(trial, ev, nodes)
            if sc > best_score + 1e-9:
                best, best_score, improved = trial, sc, True
    return best


def _quantile_low(p: _Pairs, r: int, flip: bool) -> tuple[int, int]:
    """A robust minimum of the latency a -> b of pair row r (b -> a when ``flip``),
    and its support: the k-th smallest, k = max(MIN_SUPPORT, 1 %): a clock offset
    shifts every pair of its producer, so one odd instance (a clock that jumped
    once) must not set it."""
    n = int(p.n[r])
    run = p.d_sorted[int(p.start[r]) : int(p.start[r]) + n]
    vals = -run[::-1] if flip else run
    k = min(n, max(MIN_SUPPORT, int(np.ceil(0.01 * n))))
    return int(vals[k - 1]), n


def _lp(
    n_svc: int, keys: list[tuple[int, int]], bounds: dict[tuple[int, int], tuple[int, int]], zero: set[int]
) -> tuple[float, F64] | None:
    nb = len(keys)
    # variables: p, q (o = p - q, both >= 0), one slack per bound
    c = np.r_[np.ones(2 * n_svc), np.full(nb, 1e4)]
    a_ub = np.zeros((nb, 2 * n_svc + nb))
    b_ub = np.zeros(nb)
    for i, (sa, sb) in enumerate(keys):
        a_ub[i, sb] += 1
        a_ub[i, n_svc + sb] -= 1
        a_ub[i, sa] -= 1
        a_ub[i, n_svc + sa] += 1
        a_ub[i, 2 * n_svc + i] = -1
        b_ub[i] = bounds[(sa, sb)][0]
    box = [(0.0, 0.0 if v % n_svc in zero else None) for v in range(2 * n_svc)] + [(0.0, None)] * nb
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=box, method="highs")
    if not res.success:
        return None
    return float(res.fun), np.asarray(res.x, dtype=np.float64)


def _solve(n_svc: int, bounds: dict[tuple[int, int], tuple[int, int]]) -> tuple[F64, set[int]]:
    """Offsets o (per service) minimising sum |o| with o_b - o_a <= m for every bound
    (a, b) -> (m, support); bounds that cannot all hold get slack (their services:
    conflict). Among equally small solutions, as few services as possible move
    (one skewed clock, not two moved halfway)."""
    if not bounds:
        return np.zeros(n_svc), set()
    keys = list(bounds)
    got = _lp(n_svc, keys, bounds, set())
    if got is None:
        return np.zeros(n_svc), set(range(n_svc))
    cost, x = got
    zero: set[int] = set()
    o = x[:n_svc] - x[n_svc : 2 * n_svc]
    for sv in np.argsort(np.abs(o), kind="stable").tolist():
        if abs(o[sv]) < 0.5:
            zero.add(sv)
            continue
        trial = _lp(n_svc, keys, bounds, zero | {sv})
        if trial is not None and trial[0] <= cost + 1.0:
            zero.add(sv)
            cost, x = trial
    o = x[:n_svc] - x[n_svc : 2 * n_svc]
    conflict: set[int] = set()
    for i, (sa, sb) in enumerate(keys):
        if x[2 * n_svc + i] > 1.0:
            conflict |= {sa, sb}
    return o, conflict


def learn_precedence(
    comp: I64,
    cluster: I64,
    typ: I64,
    svc: I64,
    ts: I64,
    tp: I64,
    off: I64,
    parent: I64,
    original: BOOL,
    *,
    n_types: int,
    services: list[str],
    cap_ms: int | None,
) -> Precedence:
    """Learn the links, orientations and clock offsets; then each event's learned parent."""
    n_svc = len(services)
    n = comp.size
    prec = Precedence(clock=np.zeros(n_svc, dtype=np.int64), learned=np.full(n, -1, dtype=np.int64))
    if n == 0 or cluster.size == 0:
        return prec
    s = _first_events(comp, cluster, typ, svc, ts, tp, off, original)
    p = _pairs(s, n_types)
    caus = _causation(comp, cluster, typ, parent, original, n_types)
    key = s.cl * n_types + s.typ
    present = np.bincount(key, minlength=(int(cluster.max()) + 1) * n_types)
    # The producer of each type per cluster: its most frequent service.
    combo = key * max(n_svc, 1) + s.svc
    uk, cnt = np.unique(combo, return_counts=True)
    svc_mode: dict[int, int] = {}
    best_cnt: dict[int, int] = {}
    for kk, cc in zip(uk.tolist(), cnt.tolist(), strict=True):
        kt, sv = divmod(kk, max(n_svc, 1))
        if cc > best_cnt.get(kt, -1):
            best_cnt[kt], svc_mode[kt] = cc, sv
    row_of: dict[tuple[int, int, int], int] = {
        (int(c_), int(a_), int(b_)): r for r, (c_, a_, b_) in enumerate(zip(p.cl, p.a, p.b, strict=True))
    }
    oriented: list[tuple[int, int, int, str]] = []  # (cluster, parent, child, evidence)
    certain_pairs: list[tuple[int, int, int]] = []
    for c in np.unique(s.cl).tolist():
        rows = np.flatnonzero(p.cl == c)
        na, nb_ = present[c * n_types + p.a[rows]], present[c * n_types + p.b[rows]]
        ok = (p.n[rows] >= MIN_SUPPORT) & (p.n[rows] >= PAIR_SHARE * np.minimum(na, nb_))
        rows = rows[ok]
        if rows.size == 0:
            continue
        nodes = sorted(set(p.a[rows].tolist()) | set(p.b[rows].tolist()))
        index = {t: i for i, t in enumerate(nodes)}
        svc_of = {t: svc_mode[c * n_types + t] for t in nodes if c * n_types + t in svc_mode}
        ev = _evidence(p, rows, svc_of, caus, c, n_types)
        w = np.zeros((len(nodes), len(nodes)))
        for r in rows.tolist():
            a, b = int(p.a[r]), int(p.b[r])
            # A cause named by causation ids is a neighbour for sure: linked first.
            base = c * n_types
            linked = caus.get((base + a) * n_types + b, 0) + caus.get((base + b) * n_types + a, 0)
            # Equal spreads (steps of constant latency): the nearer in time.
            spread = float(p.var[r]) + 1e-3 * float(p.med[r]) ** 2
            w[index[a], index[b]] = 1.0 if linked >= MIN_SUPPORT else 2.0 + spread
        counts = present[c * n_types + np.asarray(nodes, dtype=np.int64)]
        tree = [(nodes[i], nodes[j]) for i, j in _tree(w, counts)]
        for u, v in _orient(tree, nodes, ev):
            agree, tot = ev.hard.get((u, v), (0, 0))
            if tot and agree >= 0.9 * tot:
                source = "causation"
            else:
                source = "clock" if svc_of.get(u) == svc_of.get(v) else "timestamps"
            oriented.append((c, u, v, source))
        certain_pairs += [(c, a, b) for (a, b), wt in ev.certain.items() if wt >= _W_HARD]
    # Clock offsets from every cross-service cause-effect pair: learned links and certain pairs.
    bounds: dict[tuple[int, int], tuple[int, int]] = {}
    support: dict[int, int] = {}
    for c, u, v, _src in oriented + [(c, a, b, "hard") for c, a, b in certain_pairs]:
        su, sv = svc_mode.get(c * n_types + u), svc_mode.get(c * n_types + v)
        if su is None or sv is None or su == sv:
            continue
        r = row_of.get((c, min(u, v), max(u, v)))
        if r is None:
            continue
        m, cnt_ = _quantile_low(p, r, flip=u > v)
        prev = bounds.get((su, sv))
        if prev is None or m < prev[0]:
            bounds[(su, sv)] = (m, cnt_ + (prev[1] if prev else 0))
        else:
            bounds[(su, sv)] = (prev[0], prev[1] + cnt_)
        support[su] = support.get(su, 0) + cnt_
        support[sv] = support.get(sv, 0) + cnt_
    est, conflict = _solve(n_svc, bounds)
    offsets: list[ClockOffset] = []
    for sv in range(n_svc):
        e = round(float(est[sv]))
        pairs = support.get(sv, 0)
        applied, status = e, "ok"
        if sv in conflict:
            applied, status = 0, "conflict"
        elif e and pairs < MIN_OFFSET_PAIRS:
            applied, status = 0, "weak"
        elif cap_ms is not None and abs(e) > cap_ms:
            applied, status = int(np.sign(e)) * cap_ms, "capped"
        prec.clock[sv] = applied
        if e or status != "ok":
            offsets.append(ClockOffset(services[sv], e, applied, pairs, status))
    prec.offsets = offsets
    # Which links become order constraints.
    for c, u, v, src in oriented:
        r = row_of.get((c, min(u, v), max(u, v)))
        if r is None:
            continue
        su, sv = svc_mode.get(c * n_types + u, 0), svc_mode.get(c * n_types + v, 0)
        shift = int(prec.clock[sv] - prec.clock[su])
        n_pair = int(p.n[r])
        run = p.d_sorted[int(p.start[r]) : int(p.start[r]) + n_pair]
        d = -run if u > v else run
        # Equal times count half: they do not say which came first.
        share = float(np.mean(d - shift > 0) + 0.5 * np.mean(d - shift == 0)) if n_pair else 0.0
        enforced = src == "causation" or share >= LEARNED_SHARE
        prec.links.append(Link(c, u, v, n_pair, share, src, enforced))
    prec.learned = _learned_parents(comp, cluster, typ, parent, original, prec.links, n_types)
    return prec


def _learned_parents(
    comp: I64, cluster: I64, typ: I64, parent: I64, original: BOOL, links: list[Link], n_types: int
) -> I64:
    """Per event: the one event of its type's learned parent type in its instance (-1: none,
    or the parent type occurs more than once, or a causation id already says)."""
    n = comp.size
    out = np.full(n, -1, dtype=np.int64)
    enforced = [lk for lk in links if lk.enforced]
    if not enforced:
        return out
    n_cl = int(cluster.max()) + 1
    parent_type = np.full(n_cl * n_types, -1, dtype=np.int64)
    for lk in enforced:
        parent_type[lk.cluster * n_types + lk.child] = lk.parent
    pos = np.flatnonzero(original & (comp >= 0))
    want = parent_type[cluster[comp[pos]] * n_types + typ[pos]]
    cand = pos[(want >= 0) & (parent[pos] < 0)]
    if cand.size == 0:
        return out
    # (instance, type) of every original -> how many, and one of them.
    key = comp[pos] * n_types + typ[pos]
    enc = pc.dictionary_encode(pa.array(key))
    ids = np.asarray(np_chunks(enc.indices), dtype=np.int64)
    counts = np.bincount(ids)
    one = np.empty(counts.size, dtype=np.int64)
    one[ids] = pos
    target = comp[cand] * n_types + parent_type[cluster[comp[cand]] * n_types + typ[cand]]
    found = pc.index_in(pa.array(target), value_set=enc.dictionary).fill_null(-1)
    hit = np.asarray(np_chunks(found), dtype=np.int64)
    ok = hit >= 0
    ok[ok] = counts[hit[ok]] == 1
    out[cand[ok]] = one[hit[ok]]
    return out


def write_precedence(
    con: duckdb.DuckDBPyConnection, prec: Precedence | None, workflows: Sequence[str], types: Sequence[str]
) -> None:
    """``clock_offsets`` and ``model_precedence`` (replacing their rows)."""
    con.execute("DELETE FROM clock_offsets")
    con.execute("DELETE FROM model_precedence")
    if prec is None:
        return
    if prec.offsets:
        con.executemany(
            "INSERT INTO clock_offsets VALUES (?, ?, ?, ?, ?)",
            [(o.service, o.estimate_ms, o.applied_ms, o.pairs, o.status) for o in prec.offsets],
        )
    rows = {
        (workflows[lk.cluster], types[lk.parent], types[lk.child]): (
            lk.support,
            lk.share,
            lk.evidence,
            lk.enforced,
        )
        for lk in prec.links
        if lk.cluster < len(workflows)
    }
    if rows:
        con.executemany(
            "INSERT INTO model_precedence VALUES (?, ?, ?, ?, ?, ?, ?)", [(*k, *v) for k, v in rows.items()]
        )
