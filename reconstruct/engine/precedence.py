"""Which event type precedes which, and each producer's clock offset,
learned from the data without taking cross-host timestamps at face value.

First the producers' clock offsets that *certain* pairs of events bound (an
event and the one its causation id names; two events of an instance in one
topic-partition): the effect cannot come before its cause, so each pair
bounds the two producers' offset difference (``clock_offsets``). Then, per
workflow cluster, from a sample of its instances (``precedence_pairs``),
which type comes before which and which type is each type's cause
(``precedence_dag``: certain evidence first, corrected timestamps last).
Twice: the second pass also bounds the offsets by each type's cause.

An offset from few pairs is *weak* (reported, not applied); one beyond
``reconstruct.max_clock_offset`` is capped; bounds that contradict each other
mark their services (``conflict``, applied as the least contradicting
estimate). Every such case is reported (``clock_offsets``, warnings).

Each type's cause becomes a *learned precedence*: a soft order constraint on
every instance holding that type once (where the instance lacks it, the
nearest other type known to come before; ``reconstruct.engine.order``), unless
the corrected times already agreed in every sampled instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from choreo.reconstruct.engine.clock_offsets import SOFT_SHARE, Bound, solve_offsets
from choreo.reconstruct.engine.frame import np_chunks
from choreo.reconstruct.engine.precedence_dag import (
    _KELLY_SE,
    MAX_LATEST,
    SHAPE_SE,
    STRUCT_ROWS,
    Decided,
    Matrices,
    Parents,
    decide,
    matrices,
    parents_of,
)
from choreo.reconstruct.engine.precedence_pairs import (
    BOOL,
    F64,
    I64,
    MIN_SUPPORT,
    SHAPE_MIN,
    Pairs,
    Sample,
    ServicePairs,
    causation,
    certain_pairs,
    first_and_last_events,
    fixed_counts,
    low_latency,
    pairs,
    sample_instances,
    unique_counts,
)

PAIR_SHARE = 0.05  # a link needs this share of the rarer type's instances
MIN_OFFSET_PAIRS = 20  # an offset bounded by fewer pairs is weak
WEAK_SHARE = 0.02  # ... or by fewer than this share of the typical producer's pairs
LEFT_TAIL_Z = 3.0  # a learned cause's latency skewed left this surely is no latency


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
    evidence: str  # causation-or-position | clock | structure | shape | timestamps | dependency | implied
    enforced: bool  # the corrected times disagreed in some sampled instance (it changes something)
    # latest: one of the types right before it (each applies); else a fallback
    # for instances holding none of those (the first present one applies), by rank.
    latest: bool = True
    rank: int = 0
    cause: bool = False  # the parent is the child type's cause
    # The cause comes a fixed number of times (a lifecycle's start and
    # complete): the child's first event follows the cause's last one.
    block: bool = False


@dataclass
class Precedence:
    clock: I64  # applied offset per service code
    offsets: list[ClockOffset] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    causes: dict[tuple[int, int], int] = field(default_factory=dict)  # (cluster, type) -> its cause's type
    # per slot (MAX_LATEST) and event: the position of an event it comes after, or -1
    learned: I64 = field(default_factory=lambda: np.zeros((MAX_LATEST, 0), dtype=np.int64))

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
class _Cluster:
    """One cluster's supported pairs."""

    c: int
    rows: I64
    nodes: list[int]
    svc_of: dict[int, int]
    # readable[i, j]: node j's producer may have read node i's topic (False:
    # it is known to consume others only); None: nothing known
    readable: npt.NDArray[np.bool_] | None = None


def _topic_mode(
    comp: I64, cluster: I64, typ: I64, topic: I64 | None, original: BOOL, n_types: int
) -> dict[int, dict[int, int]]:
    """Per cluster, per type: the topic its events are usually on."""
    if topic is None:
        return {}
    pos = np.flatnonzero(original & (comp >= 0))
    key = (cluster[comp[pos]] * n_types + typ[pos]) * (int(topic.max()) + 1) + topic[pos]
    uk, cnt = unique_counts(key, (int(cluster.max()) + 1) * n_types * (int(topic.max()) + 1))
    best: dict[tuple[int, int], tuple[int, int]] = {}
    for k, n in zip(uk.tolist(), cnt.tolist(), strict=True):
        ct, tp = divmod(k, int(topic.max()) + 1)
        c, t = divmod(ct, n_types)
        if n > best.get((c, t), (-1, -1))[0]:
            best[(c, t)] = (n, tp)
    out: dict[int, dict[int, int]] = {}
    for (c, t), (_n, tp) in best.items():
        out.setdefault(c, {})[t] = tp
    return out


def _readable(
    nodes: list[int], svc_of: dict[int, int], topic_of: dict[int, int], reads: dict[int, set[int]] | None
) -> npt.NDArray[np.bool_] | None:
    if not reads:
        return None
    m = len(nodes)
    out = np.ones((m, m), dtype=bool)
    for j, tj in enumerate(nodes):
        consumed = reads.get(svc_of.get(tj, -1))
        if consumed is None:
            continue
        for i, ti in enumerate(nodes):
            out[i, j] = topic_of.get(ti, -1) in consumed
    return out


def _certain_bounds(sp: ServicePairs) -> tuple[list[Bound], dict[int, int]]:
    bounds: list[Bound] = []
    support: dict[int, int] = {}
    for a, b, n, low, spread, shape in zip(
        sp.a.tolist(),
        sp.b.tolist(),
        sp.n.tolist(),
        sp.low.tolist(),
        sp.spread.tolist(),
        sp.shape.tolist(),
        strict=True,
    ):
        if n < MIN_SUPPORT:
            continue
        lognormal = n >= 100 and shape * np.sqrt(n) >= 4.5
        bounds.append(Bound(a, b, float(low), n, spread, lognormal))
        support[a] = support.get(a, 0) + n
        support[b] = support.get(b, 0) + n
    return bounds, support


_BOUNDING = ("causation-or-position", "clock", "structure", "shape", "implied")


def _soft_bounds(p: Pairs, clusters: list[_Cluster]) -> list[Bound]:
    """Per pair of services, the tightest soft bound from pairs of types whose
    raw timestamps (nearly) always agree on their order."""
    best: dict[tuple[int, int], Bound] = {}
    for cl in clusters:
        for r in cl.rows.tolist():
            a, b, n = int(p.a[r]), int(p.b[r]), int(p.n[r])
            sa, sb = cl.svc_of.get(a), cl.svc_of.get(b)
            if sa is None or sb is None or sa == sb or n < MIN_SUPPORT:
                continue
            run = p.d_sorted[int(p.start[r]) : int(p.start[r]) + n]
            for flip, (u, v) in ((False, (sa, sb)), (True, (sb, sa))):
                agree = (int(p.neg[r]) if flip else int(p.pos[r])) / n
                if agree < SOFT_SHARE:
                    continue
                vals = -run[::-1] if flip else run
                m = max(float(vals[int(0.01 * (n - 1))]), 0.0)
                old = best.get((u, v))
                if old is None or m < old.m:
                    best[(u, v)] = Bound(u, v, m, n, 0.0, False, soft=True, agree=agree)
    return list(best.values())


def _row_bound(p: Pairs, r: int, flip: bool, su: int, sv: int) -> Bound:
    """The bound pair row ``r`` (read b -> a when ``flip``) puts on producer
    ``sv``'s clock against ``su``'s, for a pair known to come in that order."""
    m, n = low_latency(p, r, flip=flip)
    shape = float(p.shape[r]) * (-1.0 if flip else 1.0)
    lognormal = n >= 100 and shape * np.sqrt(n) >= 4.5
    return Bound(su, sv, float(m), n, float(np.sqrt(p.var[r])), lognormal)


def _add(bounds: list[Bound], support: dict[int, int], bd: Bound) -> None:
    bounds.append(bd)
    support[bd.a] = support.get(bd.a, 0) + bd.pairs
    support[bd.b] = support.get(bd.b, 0) + bd.pairs


def _uncontradicted(soft: list[Bound], certain: list[Bound]) -> list[Bound]:
    """The soft bounds no certain bound contradicts: a raw order that a
    certain pair reverses (``o_b - o_a <= m`` against ``o_a - o_b <= m'``
    with ``m + m' < 0``) is a skewed clock's doing, not evidence."""
    tight: dict[tuple[int, int], float] = {}
    for b in certain:
        tight[(b.a, b.b)] = min(b.m, tight.get((b.a, b.b), b.m))
    return [b for b in soft if b.m + tight.get((b.b, b.a), np.inf) >= 0]


def _start_bounds(
    p: Pairs,
    clusters: list[_Cluster],
    declared: frozenset[int],
    learned: dict[int, tuple[frozenset[int], frozenset[int]]],
) -> tuple[list[Bound], dict[int, int]]:
    """Bounds from start types, declared or told by shape, and end types
    told by shape (``learned``: per cluster, starts and ends): a workflow's
    start comes before every other type of its instances, its end after
    them, whatever the clocks say."""
    bounds: list[Bound] = []
    support: dict[int, int] = {}
    if not declared and not learned:
        return bounds, support
    none: frozenset[int] = frozenset()
    for cl in clusters:
        first, last = learned.get(cl.c, (none, none))
        starts = declared | first
        if not starts and not last:
            continue
        for r in cl.rows.tolist():
            a, b = int(p.a[r]), int(p.b[r])
            if (a in starts) != (b in starts):
                flip = b in starts
            elif a not in starts and (a in last) != (b in last):
                flip = a in last
            else:
                continue
            u, v = (b, a) if flip else (a, b)
            su, sv = cl.svc_of.get(u), cl.svc_of.get(v)
            if su is None or sv is None or su == sv:
                continue
            bd = _row_bound(p, r, flip, su, sv)
            if bd.pairs < MIN_SUPPORT:
                continue
            if u not in declared:
                # Told by shape, the pair is ordered, not one step: its
                # shortest difference bounds the clocks, it estimates nothing
                # (several steps apart, it is no small part of the spread).
                bd = replace(bd, floor_near_zero=False)
            _add(bounds, support, bd)
    return bounds, support


MIN_PARTNERS = 3  # types a shape-first (-last) type must come before (after)


def shape_starts_and_ends(
    p: Pairs, clusters: list[_Cluster], caus: dict[int, int], n_types: int
) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
    """Per cluster: the types that come before every other type of their
    workflow (a start), and those that come after every other (an end), told
    by the shape of the time differences alone (no clock changes it):
    against each type seen with it often enough to tell (at least
    ``MIN_PARTNERS``), the difference has a latency's long right tail away
    from it (towards it), and no causation id or Kafka position says
    otherwise. A start whose producer stamps no event id (so no causation id
    names it) and whose clock runs ahead of every first step's is otherwise
    stamped after all of them in every instance: the workflow then starts
    with, and is named after, a step; an end 60 ms after its cause from a
    clock 600 ms behind is put before it."""
    out: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
    for cl in clusters:
        rows = cl.rows[p.n[cl.rows] >= SHAPE_MIN]
        if rows.size == 0:
            continue
        a, b = p.a[rows], p.b[rows]
        z = p.shape[rows] * np.sqrt(p.n[rows]) / _KELLY_SE  # > 0: a before b
        pairs_ = list(zip(a.tolist(), b.tolist(), strict=True))
        hard_ab = p.part_ab[rows] + np.array(
            [caus.get((cl.c * n_types + x) * n_types + y, 0) for x, y in pairs_], dtype=np.int64
        )
        hard_ba = p.part_ba[rows] + np.array(
            [caus.get((cl.c * n_types + y) * n_types + x, 0) for x, y in pairs_], dtype=np.int64
        )
        a_first = (z >= SHAPE_SE) & (hard_ba <= hard_ab)
        b_first = (-z >= SHAPE_SE) & (hard_ab <= hard_ba)
        typ = np.r_[a, b]
        uk, inv = np.unique(typ, return_inverse=True)
        total = np.bincount(inv, minlength=uk.size)
        before = np.bincount(inv, weights=np.r_[a_first, b_first], minlength=uk.size)
        after = np.bincount(inv, weights=np.r_[b_first, a_first], minlength=uk.size)
        enough = total >= MIN_PARTNERS
        starts, ends = uk[enough & (before == total)], uk[enough & (after == total)]
        if starts.size or ends.size:
            out[cl.c] = (frozenset(starts.tolist()), frozenset(ends.tolist()))
    return out


def _parent_bounds(
    p: Pairs, row_of: dict[tuple[int, int, int], int], cl: _Cluster, d: Decided, parents: list[Parents]
) -> tuple[list[Bound], dict[int, int]]:
    """Bounds from each type's cause (two producers), where the order of the
    two was not read off their timestamps."""
    bounds: list[Bound] = []
    support: dict[int, int] = {}
    for j, par in enumerate(parents):
        if par.cause is None or d.how.get((par.cause, j), "implied") not in _BOUNDING:
            continue
        u, v = cl.nodes[par.cause], cl.nodes[j]
        su, sv = cl.svc_of.get(u), cl.svc_of.get(v)
        r = row_of.get((cl.c, min(u, v), max(u, v)))
        if su is None or sv is None or su == sv or r is None:
            continue
        learned = d.how.get((par.cause, j)) != "causation-or-position"
        if learned and _left_tailed(p, r, u > v):
            continue
        _add(bounds, support, replace(_row_bound(p, r, u > v, su, sv), learned=learned))
    return bounds, support


def _left_tailed(p: Pairs, r: int, flip: bool) -> bool:
    """The time from a learned cause to its effect clearly tails off to the
    left: not a latency (whose tail is to the right) but the difference of
    two siblings' latencies, the slower one taken for the cause. Its minimum
    says how much slower the sibling can be, nothing about the clocks."""
    shape = float(p.shape[r]) * (-1.0 if flip else 1.0)
    return shape * float(np.sqrt(p.n[r])) <= -LEFT_TAIL_Z


def _offsets(
    bounds: list[Bound],
    support: dict[int, int],
    services: list[str],
    cap_ms: int | None,
) -> tuple[I64, list[ClockOffset]]:
    n_svc = len(services)
    est, conflict = solve_offsets(n_svc, bounds)
    clock = np.zeros(n_svc, dtype=np.int64)
    out: list[ClockOffset] = []
    # Few pairs, or few next to the other producers (an odd record typed and
    # attributed by its topic), make a weak estimate.
    typical = float(np.median(list(support.values()))) if support else 0.0
    enough = max(MIN_OFFSET_PAIRS, WEAK_SHARE * typical)
    for sv in range(n_svc):
        e = round(float(est[sv]))
        pairs_ = support.get(sv, 0)
        applied, status = e, "ok"
        if e and pairs_ < enough:
            applied, status = 0, "weak"
        elif cap_ms is not None and abs(e) > cap_ms:
            applied, status = int(np.sign(e)) * cap_ms, "capped"
        elif sv in conflict:
            status = "conflict"
        clock[sv] = applied
        if e or status != "ok":
            out.append(ClockOffset(services[sv], e, applied, pairs_, status))
    return clock, out


def _svc_mode(key: I64, svc: I64, n_svc: int) -> dict[int, int]:
    """The most frequent service per (cluster, type) key."""
    combo = key * max(n_svc, 1) + svc
    uk, cnt = np.unique(combo, return_counts=True)
    out: dict[int, int] = {}
    best: dict[int, int] = {}
    for kk, cc in zip(uk.tolist(), cnt.tolist(), strict=True):
        kt, sv = divmod(kk, max(n_svc, 1))
        if cc > best.get(kt, -1):
            best[kt], out[kt] = cc, sv
    return out


def _times(s: Sample, c: int, nodes: list[int], n_types: int) -> F64:
    """Sampled instances of cluster ``c`` x its types: the first event's time (NaN: none)."""
    rows = np.flatnonzero(s.cl == c)
    col = np.full(n_types, -1, dtype=np.int64)
    col[np.asarray(nodes, dtype=np.int64)] = np.arange(len(nodes))
    rows = rows[col[s.typ[rows]] >= 0]
    inst, row_of = np.unique(s.inst[rows], return_inverse=True)
    if inst.size > STRUCT_ROWS:
        keep = np.sort(np.random.default_rng(1).permutation(inst.size)[:STRUCT_ROWS])
        sel = np.full(inst.size, -1, dtype=np.int64)
        sel[keep] = np.arange(keep.size)
        row_of = sel[row_of]
        rows, row_of = rows[row_of >= 0], row_of[row_of >= 0]
        n_rows = keep.size
    else:
        n_rows = inst.size
    t = np.full((n_rows, len(nodes)), np.nan)
    t[row_of, col[s.typ[rows]]] = s.ts[rows].astype(np.float64)
    return t


def _decide(
    p: Pairs, s: Sample, cl: _Cluster, caus: dict[int, int], n_types: int, clock: I64, cap_ms: int | None
) -> tuple[Matrices, Decided, list[Parents]]:
    shift_of = {t: float(clock[sv]) for t, sv in cl.svc_of.items()}
    times = _times(s, cl.c, cl.nodes, n_types)
    # No clock is off by more than the cap: a difference beyond it is no clock's doing.
    beyond = float(cap_ms) if cap_ms is not None else np.inf
    mx = matrices(p, cl.rows, cl.nodes, cl.svc_of, caus, cl.c, n_types, shift_of, times, beyond)
    d = decide(mx)
    return mx, d, parents_of(mx, d, cl.readable)


def learn_precedence(
    comp: I64,
    cluster: I64,
    typ: I64,
    svc: I64,
    ts: I64,
    tp: I64,
    off: I64,
    parent: I64,
    prev: I64,
    original: BOOL,
    *,
    n_types: int,
    services: list[str],
    cap_ms: int | None,
    topic: I64 | None = None,
    reads: dict[int, set[int]] | None = None,
    starts: frozenset[int] = frozenset(),
) -> Precedence:
    """Learn the clock offsets, the precedence and each type's cause; then
    each event's learned parent. ``topic``/``reads``: each event's topic
    code, and the topics a service is known to consume (its cause is an
    event it read). ``starts``: type codes declared as a workflow's start."""
    n_svc = len(services)
    n = comp.size
    prec = Precedence(
        clock=np.zeros(n_svc, dtype=np.int64), learned=np.full((MAX_LATEST, n), -1, dtype=np.int64)
    )
    if n == 0 or cluster.size == 0:
        return prec
    chosen = sample_instances(comp, cluster, original)
    certain, certain_support = _certain_bounds(
        certain_pairs(chosen, comp, svc, ts, parent, prev, original, n_svc)
    )
    # The order of types is decided on each type's last event (a step after a
    # lifecycle or a loop follows its end); the clocks are bounded on the
    # first ones (a type's first event is the one its cause triggered).
    s, s_last = first_and_last_events(chosen, comp, cluster, typ, svc, ts, tp, off, original)
    p = pairs(s, n_types)
    p_last = pairs(s_last, n_types)
    caus = causation(comp, cluster, typ, parent, original, n_types)
    key = s.cl * n_types + s.typ
    present = np.bincount(key, minlength=(int(cluster.max()) + 1) * n_types)
    svc_mode = _svc_mode(key, s.svc, n_svc)
    topic_mode = _topic_mode(comp, cluster, typ, topic, original, n_types) if reads else {}
    row_of = {
        (int(c_), int(a_), int(b_)): r for r, (c_, a_, b_) in enumerate(zip(p.cl, p.a, p.b, strict=True))
    }
    clusters: list[_Cluster] = []
    for c in np.unique(s.cl).tolist():
        rows = np.flatnonzero(p.cl == c)
        na, nb = present[c * n_types + p.a[rows]], present[c * n_types + p.b[rows]]
        rows = rows[(p.n[rows] >= MIN_SUPPORT) & (p.n[rows] >= PAIR_SHARE * np.minimum(na, nb))]
        if rows.size == 0:
            continue
        nodes = sorted(set(p.a[rows].tolist()) | set(p.b[rows].tolist()))
        svc_of = {t: svc_mode[c * n_types + t] for t in nodes if c * n_types + t in svc_mode}
        clusters.append(
            _Cluster(c, rows, nodes, svc_of, _readable(nodes, svc_of, topic_mode.get(c, {}), reads))
        )
    # Pass 1: offsets from certain pairs only; pass 2: also from each type's
    # cause. Both keep what the raw timestamps agree on where they can.
    soft = _soft_bounds(p, clusters)
    learned_ends = shape_starts_and_ends(p, clusters, caus, n_types)
    declared, declared_support = _start_bounds(p, clusters, starts, learned_ends)
    certain += declared
    for k, v in declared_support.items():
        certain_support[k] = certain_support.get(k, 0) + v
    soft = _uncontradicted(soft, certain)
    clock, prec.offsets = _offsets(certain + soft, certain_support, services, cap_ms)
    decided = [_decide(p_last, s_last, cl, caus, n_types, clock, cap_ms) for cl in clusters]
    bounds, support = certain + soft, dict(certain_support)
    for cl, (_mx, d, parents) in zip(clusters, decided, strict=True):
        b2, s2 = _parent_bounds(p, row_of, cl, d, parents)
        bounds += b2
        for k, v in s2.items():
            support[k] = support.get(k, 0) + v
    clock, prec.offsets = _offsets(bounds, support, services, cap_ms)
    prec.clock = clock
    decided = [_decide(p_last, s_last, cl, caus, n_types, clock, cap_ms) for cl in clusters]
    fixed = fixed_counts(chosen, comp, cluster, typ, original, n_types)
    for cl, (mx, d, parents) in zip(clusters, decided, strict=True):
        for j, par in enumerate(parents):
            if par.cause is not None:
                prec.causes[(cl.c, cl.nodes[j])] = cl.nodes[par.cause]
            for latest, ranked in ((True, par.latest), (False, par.rest)):
                for rank, i in enumerate(ranked):
                    s_ij = float(mx.share[i, j])
                    # Applied where needed: where the corrected times already
                    # agree in every sampled instance (no inversion, no tie) it
                    # changes nothing.
                    prec.links.append(
                        Link(
                            cl.c,
                            cl.nodes[i],
                            cl.nodes[j],
                            int(mx.n[i, j]),
                            s_ij,
                            d.how.get((i, j), "implied"),
                            s_ij < 1.0,
                            latest,
                            rank,
                            latest and i == par.cause,
                            latest and i == par.cause and (cl.c, cl.nodes[i]) in fixed,
                        )
                    )
    prec.learned = learned_parents(
        comp, cluster, typ, parent, original, prec.links, n_types, ts - prec.clock[svc]
    )
    return prec


def _by_time(ids: I64, pos: I64, t: I64 | None, n_ids: int, *, last: bool = True) -> I64:
    """Per id, the ``pos`` of its latest row by ``t`` (ties, or no times: the
    last row), or its earliest (the first row): what assigning ``pos`` in a
    stable time order leaves, without sorting every event by time."""
    pick = np.maximum if last else np.minimum
    found = np.full(n_ids, -1 if last else ids.size, dtype=np.int64)
    rows = np.arange(ids.size, dtype=np.int64)
    if t is not None:
        bound = np.iinfo(np.int64).min if last else np.iinfo(np.int64).max
        extreme = np.full(n_ids, bound, dtype=np.int64)
        pick.at(extreme, ids, t)
        rows = rows[t == extreme[ids]]
    pick.at(found, ids[rows], rows)
    out: I64 = pos[found]
    return out


def learned_parents(
    comp: I64,
    cluster: I64,
    typ: I64,
    parent: I64,
    original: BOOL,
    links: list[Link],
    n_types: int,
    ts: I64 | None = None,
) -> I64:
    """Per slot and event: an event it comes after. Each type right before its
    type that the instance holds once takes a slot; where it holds none of
    those, the first other type before it that it holds (slot 0). -1: none,
    the type found occurs more than once, or a causation id already says."""
    n = comp.size
    out = np.full((MAX_LATEST, n), -1, dtype=np.int64)
    # Every learned link applies, also where the sampled corrected times all
    # agreed: an estimated offset a few ms off flips a step of a few ms
    # between two hosts, in instances the sample had no say on.
    if not links:
        return out
    n_cl = int(cluster.max()) + 1
    n_rest = max([lk.rank for lk in links if not lk.latest], default=-1) + 1
    latest = np.full((MAX_LATEST, n_cl * n_types), -1, dtype=np.int64)
    rest = np.full((max(n_rest, 1), n_cl * n_types), -1, dtype=np.int64)
    is_cause = np.zeros(latest.shape, dtype=bool)
    block = np.zeros(latest.shape, dtype=bool)
    slots: dict[int, int] = {}
    for lk in links:
        ct = lk.cluster * n_types + lk.child
        if lk.latest:
            # Each type right before it takes the next slot (as listed).
            k = slots.get(ct, 0)
            if k < MAX_LATEST:
                latest[k, ct] = lk.parent
                is_cause[k, ct] = lk.cause
                block[k, ct] = lk.block
                slots[ct] = k + 1
        else:
            rest[lk.rank, ct] = lk.parent
    pos = np.flatnonzero(original & (comp >= 0))
    ct_all = cluster[comp[pos]] * n_types + typ[pos]
    cand = pos[(latest[0, ct_all] >= 0) & (parent[pos] < 0)]
    if cand.size == 0:
        return out
    # (instance, type) of every original -> how many, and the last of them
    # (by its time: a type's events share their producer's clock).
    key = comp[pos] * n_types + typ[pos]
    enc = pc.dictionary_encode(pa.array(key))
    ids = np.asarray(np_chunks(enc.indices), dtype=np.int64)
    counts = np.bincount(ids)
    one = _by_time(ids, pos, ts[pos] if ts is not None else None, counts.size)
    first = _by_time(ids, pos, ts[pos] if ts is not None else None, counts.size, last=False)

    def lookup(ev: I64, want: I64) -> I64:
        found = pc.index_in(pa.array(comp[ev] * n_types + want), value_set=enc.dictionary).fill_null(-1)
        return np.asarray(np_chunks(found), dtype=np.int64)

    cand_ct = cluster[comp[cand]] * n_types + typ[cand]
    # A type that comes once is after the last of its cause's events where
    # those repeat (a lifecycle's complete, a retry loop's last round); else
    # only after a type that comes once.
    own = lookup(cand, typ[cand])
    once = counts[own] == 1
    # After a lifecycle (its cause's events come a fixed number of times),
    # the first of a repeated type's events follows the cause's last.
    leading = ~once & (first[own] == cand)
    held = np.zeros(cand.size, dtype=bool)
    for slot in range(MAX_LATEST):
        want = latest[slot, cand_ct]
        go = np.flatnonzero(want >= 0)
        if go.size == 0:
            break
        hit = lookup(cand[go], want[go])
        there = hit >= 0
        held[go[there]] = True
        ok = np.zeros(go.size, dtype=bool)
        ct_there = cand_ct[go[there]]
        single = counts[hit[there]] == 1
        # (first events of the sample agree with the last of them: applied regardless)
        last_of_cause = (counts[hit[there]] > 1) & once[go[there]] & is_cause[slot, ct_there]
        after_block = block[slot, ct_there] & leading[go[there]]
        ok[there] = single | last_of_cause | after_block
        out[slot, cand[go[ok]]] = one[hit[ok]]
    # Holding none of the types right before: the nearest other one it holds.
    cand, cand_ct, once = cand[~held], cand_ct[~held], once[~held]
    for rank in range(n_rest):
        want = rest[rank, cand_ct]
        go = want >= 0
        if not go.any():
            break
        cand, cand_ct, want, once = cand[go], cand_ct[go], want[go], once[go]
        hit = lookup(cand, want)
        there = hit >= 0
        ok = there.copy()
        ok[there] = counts[hit[there]] == 1
        out[0, cand[ok]] = one[hit[ok]]
        cand, cand_ct, once = cand[~there], cand_ct[~there], once[~there]
        if cand.size == 0:
            break
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
            lk.latest,
            lk.rank,
            lk.cause,
            lk.block,
        )
        for lk in prec.links
        if lk.cluster < len(workflows)
    }
    if rows:
        con.executemany(
            "INSERT INTO model_precedence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*k, *v) for k, v in rows.items()],
        )
