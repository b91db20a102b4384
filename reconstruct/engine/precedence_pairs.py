"""Statistics of the time differences between event types, per workflow
cluster, from a sample of its instances: the first event of each type per
instance, every pair of types within an instance, and for each pair of types
the distribution of ``ts_b - ts_a`` (robust spread, median, shape) and what
the Kafka positions say about their order; plus the causation links between
types over all instances. Input of ``reconstruct.engine.precedence``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from choreo.reconstruct.engine.host_mixture import in_humps

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

PER_CLUSTER = 5_000  # sampled instances per cluster
FIXED_SHARE = 0.95  # instances holding exactly the median count of a type, for a fixed count (a lifecycle)
MIN_SUPPORT = 3
SHAPE_MIN = 100  # pairs for a shape (skewness) to be read at all


@dataclass
class Sample:
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
class Pairs:
    """Per (cluster, a, b) with a < b: statistics of d = ts_b - ts_a."""

    cl: I64
    a: I64
    b: I64
    n: I64
    pos: I64
    neg: I64
    part_ab: I64  # same topic-partition, a's offset first
    part_ba: I64
    var: F64  # spread: variance within six median absolute deviations
    med: F64  # median
    shape: F64  # Kelly's skewness
    d_sorted: I64  # all d, grouped by pair and sorted
    start: I64  # of each pair's run in d_sorted
    # For the order of the two: ``shape``, but 0 where d comes in humps
    # (hosts with clocks of their own: ``host_mixture``). The clocks keep
    # ``shape``: they are bounded by the humps' floor all the same.
    step_shape: F64


def sample_instances(comp: I64, cluster: I64, original: BOOL) -> BOOL:
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


@dataclass(frozen=True)
class TypeCounts:
    """Per group (a type in a workflow or cluster, ``group``): how many
    instances hold it (``holding``), the median count of its events in them
    (``median``), how many hold exactly that many (``exact``) and how many
    an even number (``even``)."""

    group: I64
    holding: I64
    median: I64
    exact: I64
    even: I64

    def fixed(self) -> BOOL:
        """A fixed count of 2 or more in (nearly) every instance holding it: a lifecycle."""
        out: BOOL = (
            (self.median >= 2) & (self.holding >= MIN_SUPPORT) & (self.exact >= FIXED_SHARE * self.holding)
        )
        return out

    def paired(self) -> BOOL:
        """An even count in (nearly) every instance holding it, not a fixed one:
        a lifecycle inside a loop (start and complete each round)."""
        out: BOOL = ~self.fixed() & (self.holding >= MIN_SUPPORT) & (self.even >= FIXED_SHARE * self.holding)
        return out


def type_counts(group: I64, counts: I64) -> TypeCounts:
    """``counts[i]``: events of one type in one instance, of group ``group[i]``."""
    order = np.lexsort((counts, group))
    group, counts = group[order], counts[order]
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    sizes = np.diff(np.r_[starts, group.size])
    med = counts[starts + (sizes - 1) // 2]
    exact = np.add.reduceat((counts == np.repeat(med, sizes)).astype(np.int64), starts)
    even = np.add.reduceat((counts % 2 == 0).astype(np.int64), starts)
    return TypeCounts(group[starts], sizes, med, exact, even)


def fixed_counts(
    chosen: BOOL, comp: I64, cluster: I64, typ: I64, original: BOOL, n_types: int
) -> set[tuple[int, int]]:
    """(cluster, type) pairs a sampled instance holds a fixed number (2 or more)
    of, whenever it holds any: a lifecycle's start and complete."""
    sel = original & (comp >= 0)
    sel[sel] = chosen[comp[sel]]
    if not sel.any():
        return set()
    key, counts = np.unique(comp[sel] * n_types + typ[sel], return_counts=True)
    inst, t = np.divmod(key, n_types)
    tc = type_counts(cluster[inst] * n_types + t, counts)
    return {(int(c), int(x)) for c, x in zip(*np.divmod(tc.group[tc.fixed()], n_types), strict=True)}


def first_and_last_events(
    chosen: BOOL,
    comp: I64,
    cluster: I64,
    typ: I64,
    svc: I64,
    ts: I64,
    tp: I64,
    off: I64,
    original: BOOL,
) -> tuple[Sample, Sample]:
    """The first and the last event of each type per ``chosen`` instance
    (``sample_instances``), from one sort: the clocks are bounded on a type's
    first event (the one its cause triggered), the order is decided on its
    last (what comes after a lifecycle or a loop waits for its end)."""
    pos = np.flatnonzero(original & (comp >= 0))
    pos = pos[chosen[comp[pos]]]
    srt = pos[np.lexsort((off[pos], ts[pos], typ[pos], comp[pos]))]
    c, t = comp[srt], typ[srt]
    head = np.r_[True, (c[1:] != c[:-1]) | (t[1:] != t[:-1])]
    idx = np.flatnonzero(head)
    counts = np.diff(np.r_[idx, srt.size])
    single = counts == 1

    def sample(f: I64) -> Sample:
        return Sample(comp[f], cluster[comp[f]], typ[f], svc[f], ts[f], tp[f], off[f], single)

    return sample(srt[idx]), sample(srt[idx + counts - 1])


def pairs(s: Sample, n_types: int) -> Pairs:
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

    def q(share: float) -> npt.NDArray[np.float64]:
        return np.asarray(ds[start + np.floor(share * (cnt - 1)).astype(np.int64)], dtype=np.float64)

    med = q(0.5) if g else np.zeros(0)
    # Spread: the variance of the differences within six median absolute
    # deviations of the median. A service down for hours delays a fifth or a
    # third of its reactions by hours: plain variance (even winsorized) would
    # measure the outage, not the step; the median absolute deviation alone
    # does not add up along a chain of steps, the variance does.
    gs = gid[srt]
    dev = np.abs(ds - med[gs])
    dsrt = np.lexsort((dev, gs))
    mad = np.maximum(dev[dsrt][start + (cnt - 1) // 2], 1.0) if g else np.zeros(0)
    keep = dev <= 6.0 * mad[gs]
    kept = np.bincount(gs, weights=keep, minlength=g)
    mean = np.bincount(gs, weights=np.where(keep, ds, 0), minlength=g) / np.maximum(kept, 1)
    sq = np.where(keep, (ds - mean[gs]) ** 2, 0.0)
    var = np.bincount(gs, weights=sq, minlength=g) / np.maximum(kept, 1)
    # Shape: Kelly's skewness (10/50/90 %) of the bulk, positive for a
    # latency's long right tail (an outage's delays of hours would make one).
    kd, kg = ds[keep], gs[keep]
    kcnt = np.bincount(kg, minlength=g)
    kstart = np.r_[0, np.cumsum(kcnt)[:-1]].astype(np.int64) if g else np.zeros(0, dtype=np.int64)

    def kq(share: float) -> npt.NDArray[np.float64]:
        at = kstart + np.floor(share * np.maximum(kcnt - 1, 0)).astype(np.int64)
        return np.asarray(kd[np.minimum(at, max(kd.size - 1, 0))], dtype=np.float64)

    if g and kd.size:
        q10, q50, q90 = kq(0.1), kq(0.5), kq(0.9)
        shape = np.where((q90 > q10) & (kcnt > 0), (q90 + q10 - 2 * q50) / np.maximum(q90 - q10, 1e-9), 0.0)
    else:
        shape = np.zeros(g)
    # Hosts with clocks of their own make a few humps of it: the shape is
    # the humps' sizes then, no step's.
    step_shape = shape.copy()
    for r in np.flatnonzero(kcnt >= SHAPE_MIN).tolist():
        if in_humps(kd[kstart[r] : kstart[r] + kcnt[r]].astype(np.float64)):
            step_shape[r] = 0.0
    cl, rest = np.divmod(uk, n_types * n_types)
    a, b = np.divmod(rest, n_types)
    return Pairs(
        cl=cl,
        a=a,
        b=b,
        n=cnt,
        pos=np.bincount(gid, weights=d > 0, minlength=g).astype(np.int64),
        neg=np.bincount(gid, weights=d < 0, minlength=g).astype(np.int64),
        part_ab=np.bincount(gid, weights=same_tp & (s.off[i] < s.off[j]), minlength=g).astype(np.int64),
        part_ba=np.bincount(gid, weights=same_tp & (s.off[i] > s.off[j]), minlength=g).astype(np.int64),
        var=var,
        med=med,
        shape=shape,
        d_sorted=ds,
        start=start,
        step_shape=step_shape,
    )


def causation(comp: I64, cluster: I64, typ: I64, parent: I64, original: BOOL, n_types: int) -> dict[int, int]:
    """Causation links per (cluster, parent type, child type) key, over all instances."""
    child = np.flatnonzero(original & (parent >= 0) & (comp >= 0))
    if child.size == 0:
        return {}
    key = (cluster[comp[child]] * n_types + typ[parent[child]]) * n_types + typ[child]
    uk, cnt = unique_counts(key, (int(cluster.max()) + 1) * n_types * n_types)
    return dict(zip(uk.tolist(), cnt.tolist(), strict=True))


def unique_counts(key: I64, size: int) -> tuple[I64, I64]:
    """``np.unique(key, return_counts=True)`` of keys in ``0..size``: counted,
    not sorted, where the keys are few (a sort of every event otherwise)."""
    if size <= 4 * key.size:
        counted = np.bincount(key, minlength=size)
        uk = np.flatnonzero(counted)
        return uk, counted[uk]
    uk, cnt = np.unique(key, return_counts=True)
    return uk, cnt


def low_latency(p: Pairs, r: int, flip: bool) -> tuple[int, int]:
    """A robust minimum of the latency a -> b of pair row r (b -> a when ``flip``),
    and its support: the k-th smallest, k = max(MIN_SUPPORT, 1 %), of the bulk
    (within six spreads of the median). A clock offset shifts every pair of its
    producer; a clock that jumped once, or one host of several running late for
    some instances, only shifts a minority: the constraints on each instance
    put those right, they must not move the whole service."""
    n = int(p.n[r])
    run = p.d_sorted[int(p.start[r]) : int(p.start[r]) + n]
    vals = -run[::-1] if flip else run
    med = -float(p.med[r]) if flip else float(p.med[r])
    floor = med - 6.0 * max(float(np.sqrt(p.var[r])), 1.0)
    bulk = vals[int(np.searchsorted(vals, floor)) :]
    if bulk.size < MIN_SUPPORT:
        bulk = vals
    k = min(bulk.size, max(MIN_SUPPORT, int(np.ceil(0.01 * bulk.size))))
    return int(bulk[k - 1]), n


@dataclass
class ServicePairs:
    """Per ordered pair of services (a before b for sure): statistics of
    ``ts_b - ts_a`` over event pairs whose order is certain."""

    a: I64
    b: I64
    n: I64
    low: I64  # robust minimum (see ``low_latency``)
    spread: F64  # robust standard deviation
    shape: F64  # Kelly's skewness


def certain_pairs(
    chosen: BOOL, comp: I64, svc: I64, ts: I64, parent: I64, prev: I64, original: BOOL, n_svc: int
) -> ServicePairs:
    """Event pairs of two services whose order is certain: an event and the
    one its causation id names; an event and the previous one of its
    instance in the same topic-partition. Only the instances ``chosen``."""
    pos = np.flatnonzero(original & (comp >= 0))
    pos = pos[chosen[comp[pos]]]
    srcs, dsts = [], []
    for arr in (parent, prev):
        src = arr[pos]
        ok = src >= 0
        src, dst = src[ok], pos[ok]
        ok = original[src] & (svc[src] != svc[dst])
        srcs.append(src[ok])
        dsts.append(dst[ok])
    src, dst = np.concatenate(srcs), np.concatenate(dsts)
    key = svc[src] * max(n_svc, 1) + svc[dst]
    d = ts[dst] - ts[src]
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    if key.size == 0:
        return ServicePairs(empty_i, empty_i, empty_i, empty_i, empty_f, empty_f)
    srt = np.lexsort((d, key))
    key, d = key[srt], d[srt]
    starts = np.r_[0, np.flatnonzero(key[1:] != key[:-1]) + 1]
    ends = np.r_[starts[1:], key.size]
    low, spread, shape = [], [], []
    for s0, e0 in zip(starts.tolist(), ends.tolist(), strict=True):
        run = d[s0:e0]
        med = float(run[(run.size - 1) // 2])
        mad = max(float(np.median(np.abs(run - med))), 1.0)
        bulk = run[np.abs(run - med) <= 6.0 * mad]
        sd = float(np.std(bulk)) if bulk.size else 0.0
        lo = run[int(np.searchsorted(run, med - 6.0 * max(sd, 1.0))) :]
        if lo.size < MIN_SUPPORT:
            lo = run
        k = min(lo.size, max(MIN_SUPPORT, int(np.ceil(0.01 * lo.size))))
        low.append(int(lo[k - 1]))
        spread.append(sd)
        q10, q90 = float(run[int(0.1 * (run.size - 1))]), float(run[int(0.9 * (run.size - 1))])
        shape.append((q90 + q10 - 2 * med) / (q90 - q10) if q90 > q10 else 0.0)
    a, b = np.divmod(key[starts], max(n_svc, 1))
    n = (ends - starts).astype(np.int64)
    return ServicePairs(a, b, n, np.asarray(low, dtype=np.int64), np.asarray(spread), np.asarray(shape))
