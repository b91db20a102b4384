"""Which event type comes before which in a workflow, and which type is each
type's cause, decided from the most certain evidence down, without trusting
cross-host timestamps where anything better speaks.

Per cluster, over the pairs of types that occur together (``precedence_pairs``),
a precedence relation is built pair by pair, each new decision checked
against what is already implied (a decision that would contradict is
skipped), strongest evidence first:

1. *certain*: causation ids between the two types, or their Kafka positions
   (same topic-partition), agreeing in (nearly) every instance;
2. *one clock*: two types emitted by the same producer;
3. *structure*: the spread (variance) of a time difference adds up along a
   chain of steps and does not depend on any clock: for three types of
   which one is known to come before (or after) the two others, the one in
   the middle is the one whose spreads to the two others add up to the
   spread between them. It also tells siblings (two branches of one
   parent) apart from a chain; siblings stay unordered, so an always-fast
   branch is never taken for the cause of a slower one;
4. *shape*: a latency has its long tail to the right (the skewness of a
   difference does not depend on the clocks either; unless a service runs
   on several hosts with clocks of their own: a difference in humps tells
   nothing, ``host_mixture``);
5. *timestamps*, corrected by the clock offsets estimated so far;
6. *dependency*, the weakest: a type (nearly) never found without another
   that most instances stamp before it and whose usual continuation it
   is, where the other is often found without it (a step waits for its
   cause, not the cause for it) or a clear majority stamps that order.
   Clocks of two hosts behind one producer, each event on either, put a
   step before its cause in a fair share of the instances; which type
   needs which does not depend on any clock.
   (Two branches of one parent are kept apart by the structure test and
   keep that parent for their cause, so their order stays free.)

Each type's cause (its *parent*) is then the type before it whose time
difference to it spreads least (a cause's latency is one step), preferring
among near-equal candidates the one that comes after the others; the other
types before it follow, nearest first, for instances that lack the parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from choreo.reconstruct.engine.precedence_pairs import F64, I64, MIN_SUPPORT, SHAPE_MIN, Pairs

BOOL2 = npt.NDArray[np.bool_]

HARD_AGREE = 0.9  # causation/position votes agreeing for a certain order
SAME_SHARE = 0.9  # one producer's timestamps agreeing
TS_SHARE = 0.95  # corrected cross-host timestamps agreeing
SHAPE_SE = 3.0  # standard errors of the skewness for it to vote
UNANIMOUS = 0.02  # timestamps agreeing but in this share of instances: against, unanimously
_KELLY_SE = 1.5  # Kelly's skewness has a standard error of about 1.5 / sqrt(n)
TRIPLET_MIN = 20  # instances holding the three types, for a structure test
# Siblings come in either order: neither first in this share. (A branch 3x
# faster than its sibling still comes second in about 15 % of instances; a
# step after a join comes after each branch in nearly all.)
SIBLING_SHARE = 0.95
PARENT_Z = 2.0  # a candidate cause beats another when its spread is this many standard errors less
MAX_LATEST = 4  # types an event is ordered after (a join: the branches it waits for)
MAX_RANKED = 6  # other types before it kept (the first present one applies)
FAR_SHARE = 0.02  # instances with the effect far before its cause: no cause
# Dependency: a type found without the other in at most DEP_SHARE of its
# instances, the other without it in at most DEP_USUAL of its own, and
# either the other without it in at least DEP_MIN instances and DEP_RATIO
# times as many, or the two in that order in MAJORITY of them.
DEP_SHARE = 0.01
DEP_USUAL = 0.5  # ... and the other found without it in at most this share of its instances
DEP_MIN = 5
DEP_RATIO = 5
MAJORITY = 0.6


@dataclass
class Matrices:
    """One cluster's pair statistics as dense matrices over its types (``nodes``)."""

    nodes: list[int]
    n: I64  # instances holding both (symmetric)
    var: F64  # spread of the time difference (symmetric)
    share: F64  # share[i, j]: i before j, corrected timestamps (equal times count half)
    hard: I64  # hard[i, j]: causation/position votes for i before j
    same: BOOL2  # the two types share their usual producer
    shape: F64  # shape[i, j]: skewness of t_j - t_i in standard errors (> 0: i before j)
    t: F64  # sampled instances x types: the first event's time (NaN: none)
    # far[i, j]: share of instances where j came before i by more than any
    # clock is off (corrected times): then j is no effect of i (None: none known).
    far: F64 | None = None

    def refuted(self) -> BOOL2:
        """refuted[i, j]: i cannot come before j: in a fair share of the
        instances j came first by more than any clock error explains (a
        sibling branch whose service was down for hours), which no effect
        does to its cause."""
        if self.far is None:
            return np.zeros(self.n.shape, dtype=bool)
        return (self.far >= FAR_SHARE) & (self.far * self.n >= MIN_SUPPORT)


@dataclass
class Decided:
    """The precedence relation (transitively closed) and how each pair got decided."""

    before: BOOL2  # before[i, j]: i comes before j
    apart: BOOL2  # pairs found to be siblings (kept unordered)
    how: dict[tuple[int, int], str] = field(default_factory=dict)  # decided pair -> evidence


class _Relation:
    def __init__(self, m: int) -> None:
        self.before = np.zeros((m, m), dtype=bool)
        self.apart = np.zeros((m, m), dtype=bool)
        self.how: dict[tuple[int, int], str] = {}

    def open(self, i: int, j: int) -> bool:
        return i != j and not self.before[i, j] and not self.before[j, i]

    def add(self, i: int, j: int, how: str) -> bool:
        if not self.open(i, j):
            return False
        up = self.before[:, i].copy()
        up[i] = True
        down = self.before[j, :].copy()
        down[j] = True
        self.before |= np.outer(up, down)
        self.how[(i, j)] = how
        return True


STRUCT_ROWS = 3_000  # sampled instances for the structure tests


def _col_median(x: F64) -> F64:
    """Each column's (lower) median, NaN ignored (NaN sorts last)."""
    cnt = (~np.isnan(x)).sum(axis=0)
    srt = np.sort(x, axis=0)
    return np.asarray(srt[np.maximum(cnt - 1, 0) // 2, np.arange(x.shape[1])], dtype=np.float64)


def _trimmed(d: F64) -> F64:
    """Each column's values beyond six median absolute deviations set missing
    (a service down for hours delays a share of its reactions by hours)."""
    if d.size == 0:
        return d
    med = _col_median(d)
    mad = np.maximum(_col_median(np.abs(d - med)), 1.0)
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(d - med) <= 6.0 * mad, d, np.nan)


def _moments(d: F64) -> tuple[F64, F64, F64, F64]:
    """Over the rows where both columns are present: count, covariance and
    each column's variance (``var_x[x, y]``: of x, on rows with y)."""
    present = ~np.isnan(d)
    m = present.astype(np.float64)
    z = np.where(present, d, 0.0)
    n = m.T @ m
    nn = np.maximum(n, 1.0)
    sx = (z.T @ m) / nn  # mean of x on rows with y
    sxx = ((z * z).T @ m) / nn
    sxy = (z.T @ z) / nn
    var_x = np.maximum(sxx - sx * sx, 0.0)
    cov = sxy - sx * sx.T
    return n, cov, var_x, var_x.T


@dataclass
class _Anchored:
    """Per anchor a and side (0: a before both, 1: after both), for every pair
    (x, y): the slope of ``D_x`` on ``t_y - t_x`` and its standard error
    (infinite where too few instances hold all three)."""

    slope: F64  # (m, 2, m, m)
    se: F64
    sibling: F64  # the slope were x and y siblings of the anchor: -var(D_x) / var(t_y - t_x)


def _anchored(t: F64) -> _Anchored:
    m = t.shape[1]
    slope = np.zeros((m, 2, m, m))
    se = np.full((m, 2, m, m), np.inf)
    sibling = np.zeros((m, 2, m, m))
    for a in range(m):
        for k, sign in ((0, 1.0), (1, -1.0)):
            d = _trimmed(sign * (t - t[:, a : a + 1]))
            n, cov, vx, vy = _moments(d)
            ve = np.maximum(vx + vy - 2 * cov, 1e-9)
            lam = (cov - vx) / ve
            resid = np.maximum(vx - (cov - vx) ** 2 / ve, 0.0)
            slope[a, k] = lam
            se[a, k] = np.where(n >= TRIPLET_MIN, np.sqrt(resid / (ve * np.maximum(n, 1.0))), np.inf)
            sibling[a, k] = -vx / ve
    return _Anchored(slope, se, sibling)


def _slopes(
    an: _Anchored, anchors: BOOL2, open_: BOOL2, *, after: bool = True
) -> tuple[F64, F64, BOOL2, F64]:
    """Per open pair (x, y), over anchors ``a`` with ``anchors[a, x]`` and
    ``anchors[a, y]`` (a before both) or ``anchors[x, a]`` and ``anchors[y, a]``
    (after both; unless not ``after``): the most precise slope, its standard
    error, and whether that anchor comes after both."""
    m = anchors.shape[0]
    best_se = np.full((m, m), np.inf)
    slope = np.zeros((m, m))
    late = np.zeros((m, m), dtype=bool)
    sibling = np.zeros((m, m))
    for a in range(m):
        for k, side in ((0, anchors[a, :]), (1, anchors[:, a])):
            if side.sum() < 2 or (k == 1 and not after):
                continue
            take = open_ & side[:, None] & side[None, :] & (an.se[a, k] < best_se)
            best_se = np.where(take, an.se[a, k], best_se)
            slope = np.where(take, an.slope[a, k], slope)
            sibling = np.where(take, an.sibling[a, k], sibling)
            late |= take & (k == 1)
            late &= ~(take & (k == 0))
    return slope, best_se, late, sibling


def _structure(mx: Matrices, an: _Anchored, rel: _Relation, likely: BOOL2) -> bool:
    """Decide open pairs from how their times depend on an anchor's.

    With an anchor ``a`` known to come before both ``x`` and ``y`` and
    ``D = t - t_a``, regress ``D_x`` on ``e = t_y - t_x``: in a chain
    a -> x -> y the step from x to y does not depend on the time from a to x
    (slope 0); in a chain a -> y -> x, ``e = -(D_x - D_y)`` (slope -1);
    siblings (two branches of a, or of a later common parent) give a slope
    in between. With an anchor after both, ``D = t_a - t`` and the roles
    turn (slope 0: x is the nearer to the anchor, so it comes last). Clocks
    shift D and e by constants: none of this depends on them. The anchor
    whose slope is the most precise decides. Siblings are also looked for
    around anchors only ``likely`` before (or after) both: they are kept
    unordered, so that the faster of two branches is not taken for the
    other's cause. Returns whether anything was decided."""
    m = len(mx.nodes)
    t = mx.t
    if m < 3 or t.shape[0] == 0:
        return False
    any_new = False
    refuted = mx.refuted()
    while True:
        before = rel.before
        open_ = ~before & ~before.T & ~rel.apart
        np.fill_diagonal(open_, False)
        if not open_.any():
            return any_new
        slope, se, late, sib_slope = _slopes(an, before, open_)
        se = np.maximum(se, 1e-6)
        # A chain only where siblings would have shown: their slope (as the
        # spread of the time from the anchor to x makes it) is far enough
        # from 0. A branch much faster than its sibling looks like a step
        # before it: left to the other evidence, never taken for its cause.
        x_mid = (np.abs(slope) < 2 * se) & (slope + 1 > 4 * se) & (slope - sib_slope > 4 * se)
        # Siblings around a common cause only (after a join the time is not
        # a sum of independent steps: it follows the latest branch).
        s_slope, s_se, _, _ = _slopes(an, before | likely, open_, after=False)
        s_se = np.maximum(s_se, 1e-6)
        # ... and where their order varies (a step after a join always
        # comes after each branch, yet depends on them like a sibling).
        varies = np.maximum(mx.share, mx.share.T) < SIBLING_SHARE
        sib = (s_slope < -4 * s_se) & (s_slope + 1 > 4 * s_se) & np.isfinite(s_se) & varies
        strength = np.where(sib, np.minimum(-s_slope, s_slope + 1) / s_se, np.abs(slope + 1) / se)
        cand = np.argwhere(x_mid | sib)
        if cand.size == 0:
            return any_new
        order = np.argsort(-strength[cand[:, 0], cand[:, 1]], kind="stable")
        progressed = False
        for x, y in cand[order].tolist():
            if not rel.open(x, y) or rel.apart[x, y]:
                continue
            if sib[x, y]:
                rel.apart[x, y] = rel.apart[y, x] = True
                progressed = True
                continue
            i, j = (y, x) if late[x, y] else (x, y)
            if refuted[i, j]:
                continue
            # Against timestamps that never agree (a clock off by more than
            # the step, or a join: a step after the latest of several
            # branches is not additive), only on a large sample whose shape
            # does not say otherwise.
            if mx.share[i, j] <= UNANIMOUS and (mx.n[i, j] < 100 or mx.shape[j, i] >= SHAPE_SE):
                continue
            # Never against a clear shape: an anchor after a join follows the
            # slowest branch, not the pair's, and reads a step on a faster
            # branch as coming before its own cause (the tail does not lie).
            if mx.shape[j, i] >= SHAPE_SE:
                continue
            if rel.add(i, j, "structure"):
                any_new = progressed = True
        if not progressed:
            return any_new


def _dependent(mx: Matrices) -> tuple[BOOL2, F64]:
    """``dep[i, j]``: j (nearly) never without i, and i often without j or
    i before j in a clear majority; ``alone[i, j]``: the sampled instances
    holding i but not j."""
    pres = ~np.isnan(mx.t)
    m = pres.astype(np.float64)
    cnt = m.sum(axis=0)
    alone = cnt[:, None] - m.T @ m  # [i, j]: i present, j absent
    needs = alone.T / np.maximum(cnt[None, :], 1.0) <= DEP_SHARE
    # ... and j is i's usual continuation: a branch whose service went down
    # for most of the log is found without its faster sibling's company,
    # never the other way round, and is no effect of it.
    usual = alone <= DEP_USUAL * cnt[:, None]
    asym = alone >= np.maximum(DEP_MIN, DEP_RATIO * alone.T)
    return needs & usual & (asym | (mx.share >= MAJORITY)), alone


def decide(mx: Matrices) -> Decided:
    m = len(mx.nodes)
    rel = _Relation(m)
    iu = np.argwhere(~np.eye(m, dtype=bool))
    i_, j_ = iu[:, 0], iu[:, 1]
    # 1. Certain: causation ids and Kafka positions.
    tot = mx.hard + mx.hard.T
    hard = (tot[i_, j_] >= MIN_SUPPORT) & (mx.hard[i_, j_] >= HARD_AGREE * tot[i_, j_])
    for k in np.argsort(-tot[i_, j_] * hard, kind="stable").tolist():
        if hard[k]:
            rel.add(int(i_[k]), int(j_[k]), "causation-or-position")
    # 2. One clock.
    same = mx.same[i_, j_] & (mx.n[i_, j_] >= MIN_SUPPORT) & (mx.share[i_, j_] >= SAME_SHARE)
    for k in np.argsort(-mx.n[i_, j_] * same, kind="stable").tolist():
        if same[k]:
            rel.add(int(i_[k]), int(j_[k]), "clock")
    usable = (mx.n >= MIN_SUPPORT) & ~mx.refuted()
    shape_ok = usable & (mx.shape >= SHAPE_SE) & (mx.share > UNANIMOUS)
    ts_ok = usable & (mx.share >= TS_SHARE) & (mx.shape.T < SHAPE_SE)
    likely = shape_ok | ts_ok
    an = _anchored(mx.t)
    _structure(mx, an, rel, likely)
    # 4. Shape (not against unanimous timestamps), then 5. timestamps (not
    # against a clear shape), then 6. dependency (neither against a clear
    # shape nor against most timestamps); structure is looked at again
    # after each.
    dep_ok, alone = _dependent(mx)
    dep_ok &= usable & (mx.share > 0.5) & (mx.shape.T < SHAPE_SE)
    for how, ok, strength in (
        ("shape", shape_ok, mx.shape),
        ("timestamps", ts_ok, mx.n * (2 * mx.share - 1)),
        ("dependency", dep_ok, alone + mx.n * (2 * mx.share - 1)),
    ):
        while True:
            open_ = ok & ~rel.before & ~rel.before.T & ~rel.apart
            np.fill_diagonal(open_, False)
            if not open_.any():
                break
            cand = np.argwhere(open_)
            k = int(np.argmax(strength[cand[:, 0], cand[:, 1]]))
            i, j = int(cand[k, 0]), int(cand[k, 1])
            if not rel.add(i, j, how):
                ok[i, j] = False
                continue
            _structure(mx, an, rel, likely)
    return Decided(rel.before, rel.apart, rel.how)


def _beats(t: F64, j: int, preds: list[int]) -> F64:
    """``z[p, x]``: how many standard errors less the time from candidate ``p``
    to ``j`` spreads than the time from candidate ``x`` to ``j``, on the
    instances holding all three (paired: ``j``'s own latency cancels out of
    the difference; 0 where too few instances hold them)."""
    rows = ~np.isnan(t[:, j])
    a = _trimmed(t[rows, j : j + 1] - t[rows][:, preds])
    present = ~np.isnan(a)
    m = present.astype(np.float64)
    c = np.where(present, a - np.nanmean(np.where(present, a, np.nan), axis=0), 0.0) if a.size else a
    c = np.where(present, c, 0.0)
    n = m.T @ m
    nn = np.maximum(n, 1.0)
    mean = (c.T @ m) / nn  # [p, x]: mean of p's column on rows holding x
    var = ((c * c).T @ m) / nn - mean**2  # [p, x]: variance of p's column there
    diff = var.T - var  # [p, x]: var of x's column less var of p's, on common rows
    e4 = ((c**4).T @ m) / nn
    cross = ((c * c).T @ (c * c)) / nn
    var_u = np.maximum(e4 + e4.T - 2 * cross - diff**2, 1e-9)
    z = diff / np.sqrt(var_u / nn)
    return np.where(n >= TRIPLET_MIN, z, 0.0)


@dataclass(frozen=True)
class Parents:
    """What a type (node index) comes after.

    ``cause``: among the types right before it for certain (else among all
    types before it), the one from which the time to it spreads least (its
    latency is one step), compared pairwise on the instances holding both;
    among candidates none beats for sure, the latest; where the topics its
    producer consumes are known, only types on those. ``latest``: the types known
    to come before it that no other such type follows (its cause, or the
    branches a join waits for, or alternatives of which an instance holds
    one): it comes after each of them. ``rest``: the other types before it,
    least spread first, for instances that hold none of ``latest``."""

    cause: int | None
    latest: tuple[int, ...]
    rest: tuple[int, ...]


_SURE = ("causation-or-position", "clock", "structure")


def parents_of(mx: Matrices, d: Decided, readable: BOOL2 | None = None) -> list[Parents]:
    """``readable[i, j]``: j's producer may read i's topic (known consumers)."""
    m = len(mx.nodes)
    out: list[Parents] = []
    for j in range(m):
        preds = [int(c) for c in np.flatnonzero(d.before[:, j] & (mx.n[:, j] >= MIN_SUPPORT))]
        # A cause is an event its producer read: where the topics it consumes
        # are known, only types on those (if any is before it).
        read = [c for c in preds if readable is None or readable[c, j]]
        if not preds:
            out.append(Parents(None, (), ()))
            continue
        preds.sort(key=lambda c: (float(mx.var[c, j]), c))
        latest = [c for c in preds if not any(d.before[c, o] for o in preds)]
        # Right before it for certain (causation ids, Kafka position, one
        # clock, the structure of the times): the cause is one of those (a
        # queue can make an earlier step's time explain it better).
        sure = [c for c in latest if d.how.get((c, j)) in _SURE and c in read]
        pool = sure or read or preds
        z = _beats(mx.t, j, pool)
        beaten = {x for k, x in enumerate(pool) if (z[:, k] >= PARENT_Z).any()}
        unbeaten = [c for c in pool if c not in beaten] or pool[:1]
        # Among near-equal candidates the latest: a step too fast to tell
        # apart from the next one still comes before it. (An always-faster
        # sibling looks the same: where consumers are known, it is not read.)
        late = [c for c in unbeaten if not any(d.before[c, o] for o in unbeaten)]
        cause = (late or unbeaten)[0]
        rest = [c for c in preds if c not in latest]
        out.append(Parents(cause, tuple(latest[:MAX_LATEST]), tuple(rest[:MAX_RANKED])))
    return out


def matrices(
    p: Pairs,
    rows: I64,
    nodes: list[int],
    svc_of: dict[int, int],
    caus: dict[int, int],
    c: int,
    nt: int,
    shift_of: dict[int, float],
    t: F64,
    beyond_clocks_ms: float = np.inf,
) -> Matrices:
    """Dense per-cluster matrices from the pair rows (a < b). ``shift_of``: per
    type, the clock offset of its usual producer (subtracted from its times);
    ``beyond_clocks_ms``: a difference no clock error explains."""
    m = len(nodes)
    idx = {t: i for i, t in enumerate(nodes)}
    n = np.zeros((m, m), dtype=np.int64)
    var = np.zeros((m, m))
    share = np.full((m, m), 0.5)
    hard = np.zeros((m, m), dtype=np.int64)
    same = np.zeros((m, m), dtype=bool)
    shape = np.zeros((m, m))
    far = np.zeros((m, m))
    for r in rows.tolist():
        a, b = int(p.a[r]), int(p.b[r])
        i, j = idx[a], idx[b]
        cnt = int(p.n[r])
        n[i, j] = n[j, i] = cnt
        var[i, j] = var[j, i] = float(p.var[r])
        shift = shift_of.get(b, 0.0) - shift_of.get(a, 0.0)
        run = p.d_sorted[int(p.start[r]) : int(p.start[r]) + cnt]
        lo = int(np.searchsorted(run, shift, side="left"))
        hi = int(np.searchsorted(run, shift, side="right"))
        s_ab = ((cnt - hi) + 0.5 * (hi - lo)) / max(cnt, 1)
        share[i, j], share[j, i] = s_ab, 1.0 - s_ab
        if np.isfinite(beyond_clocks_ms):
            far_lo = int(np.searchsorted(run, shift - beyond_clocks_ms, side="left"))
            far_hi = int(np.searchsorted(run, shift + beyond_clocks_ms, side="right"))
            far[i, j], far[j, i] = far_lo / max(cnt, 1), (cnt - far_hi) / max(cnt, 1)
        hard[i, j] = caus.get((c * nt + a) * nt + b, 0) + int(p.part_ab[r])
        hard[j, i] = caus.get((c * nt + b) * nt + a, 0) + int(p.part_ba[r])
        same[i, j] = same[j, i] = svc_of.get(a, -1) == svc_of.get(b, -2)
        z = float(p.step_shape[r]) * np.sqrt(cnt) / _KELLY_SE if cnt >= SHAPE_MIN else 0.0
        shape[i, j], shape[j, i] = z, -z
    return Matrices(nodes, n, var, share, hard, same, shape, t, far)
