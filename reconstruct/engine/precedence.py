"""Which event type precedes which, and each producer's clock offset,
learned from the data without taking cross-host timestamps at face value.

Per workflow cluster, from a sample of its instances
(``precedence_pairs``): which types are neighbours and which of two
neighbours comes first (``precedence_orient``), then the producers' clock
offsets that every cause-effect pair of types bounds (``clock_offsets``).
Twice: the second pass breaks ties between equally spread neighbours by
their time apart once the first pass's offsets are applied.

An offset from few pairs is *weak* (reported, not applied); one beyond
``reconstruct.max_clock_offset`` is capped; bounds that contradict each other
mark their services (``conflict``, applied as the least contradicting
estimate). Every such case is reported (``clock_offsets``, warnings).

A link whose parent type comes first in (nearly) every instance once the
offsets are applied, or that causation ids or Kafka positions confirm,
becomes a *learned precedence*: a soft order constraint on every instance
where the parent type occurs once (``reconstruct.engine.order``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from choreo.reconstruct.engine.clock_offsets import Bound, solve_offsets
from choreo.reconstruct.engine.frame import np_chunks
from choreo.reconstruct.engine.precedence_orient import Evidence, evidence, orient, spanning_tree
from choreo.reconstruct.engine.precedence_pairs import (
    BOOL,
    I64,
    MIN_SUPPORT,
    Pairs,
    causation,
    first_events,
    low_latency,
    pairs,
)

PAIR_SHARE = 0.05  # a link needs this share of the rarer type's instances
MIN_OFFSET_PAIRS = 20  # an offset bounded by fewer pairs is weak
WEAK_SHARE = 0.02  # ... or by fewer than this share of the typical producer's pairs
LEARNED_SHARE = 0.95  # parent first in this share of instances (after offsets)
_HARD_AGREE = 0.9


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
class _Cluster:
    """One cluster's supported pairs, ready to orient."""

    c: int
    rows: I64
    nodes: list[int]
    svc_of: dict[int, int]
    ev: Evidence


class _Learner:
    def __init__(self, p: Pairs, caus: dict[int, int], svc_mode: dict[int, int], n_types: int) -> None:
        self.p, self.caus, self.svc_mode, self.nt = p, caus, svc_mode, n_types
        self.row_of: dict[tuple[int, int, int], int] = {
            (int(c_), int(a_), int(b_)): r for r, (c_, a_, b_) in enumerate(zip(p.cl, p.a, p.b, strict=True))
        }

    def row(self, c: int, u: int, v: int) -> int | None:
        return self.row_of.get((c, min(u, v), max(u, v)))

    def svc(self, c: int, t: int) -> int | None:
        return self.svc_mode.get(c * self.nt + t)

    def linked(self, c: int, a: int, b: int) -> int:
        base = c * self.nt
        return self.caus.get((base + a) * self.nt + b, 0) + self.caus.get((base + b) * self.nt + a, 0)

    def links(self, cl: _Cluster, counts: I64, clock: I64 | None) -> list[tuple[int, int, int, str]]:
        """Orient the cluster's spanning tree. Spreads tied within noise go to the
        pair nearer in time: once ``clock`` (offsets) is applied; without it,
        only exact ties (cross-host times are not to be trusted yet)."""
        p, index = self.p, {t: i for i, t in enumerate(cl.nodes)}
        w = np.zeros((len(cl.nodes), len(cl.nodes)))
        for r in cl.rows.tolist():
            a, b = int(p.a[r]), int(p.b[r])
            sa, sb = cl.svc_of.get(a), cl.svc_of.get(b)
            known = clock is not None and sa is not None and sb is not None
            shift = float(clock[sb] - clock[sa]) if clock is not None and known else 0.0
            apart = float(p.med[r]) - shift
            spread = float(p.var[r]) + (0.05 if known else 1e-3) * apart**2
            # A cause named by causation ids is a neighbour for sure: linked first.
            w[index[a], index[b]] = 1.0 if self.linked(cl.c, a, b) >= MIN_SUPPORT else 2.0 + spread
        tree = [(cl.nodes[i], cl.nodes[j]) for i, j in spanning_tree(w, counts)]
        out = []
        for u, v in orient(tree, cl.nodes, cl.ev):
            agree, tot = cl.ev.hard.get((u, v), (0, 0))
            if tot and agree >= _HARD_AGREE * tot:
                source = "causation" if self.linked(cl.c, u, v) else "position"
            else:
                source = "clock" if cl.svc_of.get(u) == cl.svc_of.get(v) else "timestamps"
            out.append((cl.c, u, v, source))
        return out

    def bounds(self, oriented: list[tuple[int, int, int, str]]) -> tuple[list[Bound], dict[int, int]]:
        bounds: list[Bound] = []
        support: dict[int, int] = {}
        seen: set[tuple[int, int, int]] = set()
        for c, u, v, _src in oriented:
            su, sv = self.svc(c, u), self.svc(c, v)
            r = self.row(c, u, v)
            if su is None or sv is None or su == sv or r is None or (c, u, v) in seen:
                continue
            seen.add((c, u, v))
            m, n = low_latency(self.p, r, flip=u > v)
            shape = float(self.p.shape[r]) * (-1.0 if u > v else 1.0)
            # A long right tail (a latency's, log-normal-like): its floor is near zero.
            lognormal = n >= 100 and shape * np.sqrt(n) >= 4.5
            bounds.append(Bound(su, sv, float(m), n, float(np.sqrt(self.p.var[r])), lognormal))
            support[su] = support.get(su, 0) + n
            support[sv] = support.get(sv, 0) + n
        return bounds, support


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
    s = first_events(comp, cluster, typ, svc, ts, tp, off, original)
    p = pairs(s, n_types)
    caus = causation(comp, cluster, typ, parent, original, n_types)
    key = s.cl * n_types + s.typ
    present = np.bincount(key, minlength=(int(cluster.max()) + 1) * n_types)
    lr = _Learner(p, caus, _svc_mode(key, s.svc, n_svc), n_types)
    clusters: list[tuple[_Cluster, I64]] = []
    certain: list[tuple[int, int, int, str]] = []
    for c in np.unique(s.cl).tolist():
        rows = np.flatnonzero(p.cl == c)
        na, nb = present[c * n_types + p.a[rows]], present[c * n_types + p.b[rows]]
        rows = rows[(p.n[rows] >= MIN_SUPPORT) & (p.n[rows] >= PAIR_SHARE * np.minimum(na, nb))]
        if rows.size == 0:
            continue
        nodes = sorted(set(p.a[rows].tolist()) | set(p.b[rows].tolist()))
        svc_of = {t: lr.svc_mode[c * n_types + t] for t in nodes if c * n_types + t in lr.svc_mode}
        ev = evidence(p, rows, svc_of, caus, c, n_types)
        cl = _Cluster(c, rows, nodes, svc_of, ev)
        clusters.append((cl, present[c * n_types + np.asarray(nodes, dtype=np.int64)]))
        certain += [(c, a, b, "hard") for (a, b), _w in ev.certain.items() if (a, b) in ev.hard]
    clock: I64 | None = None
    oriented: list[tuple[int, int, int, str]] = []
    for _pass in range(2):
        oriented = [link for cl, counts in clusters for link in lr.links(cl, counts, clock)]
        bounds, support = lr.bounds(oriented + certain)
        clock, prec.offsets = _offsets(bounds, support, services, cap_ms)
    assert clock is not None
    prec.clock = clock
    # Which links become order constraints.
    for c, u, v, src in oriented:
        r = lr.row(c, u, v)
        if r is None:
            continue
        su, sv = lr.svc(c, u), lr.svc(c, v)
        shift = int(clock[sv] - clock[su]) if su is not None and sv is not None and clock is not None else 0
        n_pair = int(p.n[r])
        run = p.d_sorted[int(p.start[r]) : int(p.start[r]) + n_pair]
        d = (-run if u > v else run) - shift
        # Equal times count half: they do not say which came first.
        share = float(np.mean(d > 0) + 0.5 * np.mean(d == 0)) if n_pair else 0.0
        enforced = src in ("causation", "position") or share >= LEARNED_SHARE
        prec.links.append(Link(c, u, v, n_pair, share, src, enforced))
    prec.learned = learned_parents(comp, cluster, typ, parent, original, prec.links, n_types)
    return prec


def learned_parents(
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
