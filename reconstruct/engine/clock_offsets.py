"""Producers' clock offsets from cause-effect pairs of event types.

The effect cannot come before its cause, so every pair (a emitted by service
A, b by service B, a before b) bounds their offset difference:
``o_B - o_A <= m``, with m a robust minimum of ``ts_b - ts_a``. For a step
whose latency looks log-normal (a long right tail) the shortest latency is a
small part of its spread (a fifth of it), so its bound also *estimates* the
difference: ``o_B - o_A ~ m - FLOOR x spread``, the more precisely the
tighter the step. The offsets are the weighted-L1 best fit of those
estimates (weight: one over the spread: a 50 ms step counts forty times a
two-second one) around clocks that are off for sure (some effect stamped
before its cause), and, for certain pairs (a causation id or a position
names the cause), between clocks the fit leaves with every fast certain
step fast and that two such steps place (a step that takes a fixed 400 ms
and a clock 400 ms ahead look alike from that step alone: see
``solve_offsets``). Elsewhere, and for steps whose shortest latency may
simply be long, a clock moves only as far as a bound forces it, as in
Jaeger's adjuster; among equally good answers as few clocks move as possible. No
bound is broken unless they contradict each other (their services are then
marked). Spread and bounds are both unaffected by the clocks, so a fast step
between two hosts ties their clocks together to within its latency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from choreo.reconstruct.engine.precedence_pairs import F64

FLOOR = 0.2  # a step's shortest latency, as a share of its spread
FLOOR_SPREAD_MS = 5_000.0  # a slower step says nothing about clocks beyond its bound
_PULL = 1e-6  # weight of |o| per ms: it only settles what the bounds leave open
_FULL = 50  # pairs behind a bound for it to count in full
_HARD = 1e3  # cost per ms of breaking a bound
_DROP_ROUNDS = 3  # fits redone without the learned bounds the others broke
_LEARNED = 1.0  # ... a learned one (still more than any estimate's weight)
_SOFT = 1e-3  # ... a soft one (still a thousand times what moving a clock costs)
_SLOW_SPREADS = 3.0  # a fast step's shortest latency left this many spreads above a log-normal's ...
_SLOW_MS = 20.0  # ... and this many ms: a fixed part, not a clock


@dataclass(frozen=True)
class Bound:
    """``o[b] - o[a] <= m`` from ``pairs`` cause-effect pairs whose time difference spreads ``spread`` ms."""

    a: int
    b: int
    m: float
    pairs: int
    spread: float
    floor_near_zero: bool  # the latency looks log-normal-like (long right tail): its floor is small
    # Soft: two types whose timestamps (nearly) always agree on their order,
    # which no certain pair ties: a clock is not moved across them unless a
    # certain bound forces it (then, of two clocks, the one that keeps them).
    soft: bool = False
    agree: float = 1.0  # soft: the share of pairs whose raw timestamps agree
    # Learned: from a cause the engine inferred (no causation id or position
    # says so). It gives way to a certain bound it contradicts.
    learned: bool = False


SOFT_SHARE = 0.95  # raw timestamps agreeing this often make a soft bound


def _trust(b: Bound) -> float:
    """How much a soft bound counts: a raw order some pairs contradict is
    what a skewed clock makes of a fast step (the effect is sometimes, not
    always, stamped first), so it gives way to one nothing contradicts."""
    return max(0.05, (b.agree - SOFT_SHARE) / (1.0 - SOFT_SHARE))


def _lp(n_svc: int, bounds: list[Bound], zero: set[int], free: set[int]) -> tuple[float, F64] | None:
    nb = len(bounds)
    # Variables: p, q (o = p - q), then per bound e+ and e- (deviation from its
    # estimate) and a slack that breaks it.
    n_var = 2 * n_svc + 3 * nb
    # Around clocks that are off for sure (an effect stamped before its
    # cause), and a certain pair's between ``free`` clocks: elsewhere a step's
    # shortest latency may simply be long (or the cause was read from the
    # timestamps).
    off = {x for bd in bounds if bd.m < 0 and not bd.soft for x in (bd.a, bd.b)}
    weight = np.array(
        [
            min(1.0, b.pairs / _FULL) / max(b.spread, 1.0)
            if b.floor_near_zero
            and not b.soft
            and b.spread <= FLOOR_SPREAD_MS
            and ({b.a, b.b} & off or (not b.learned and {b.a, b.b} <= free))
            else 0.0
            for b in bounds
        ]
    )
    breaking = np.array(
        [
            _SOFT * min(1.0, b.pairs / _FULL) * _trust(b) if b.soft else _LEARNED if b.learned else _HARD
            for b in bounds
        ]
    )
    c = np.r_[np.full(2 * n_svc, _PULL), weight, weight, breaking]
    a_eq = np.zeros((nb, n_var))
    b_eq = np.zeros(nb)
    a_ub = np.zeros((nb, n_var))
    b_ub = np.zeros(nb)
    for i, bd in enumerate(bounds):
        diff = np.zeros(n_var)
        diff[bd.b] += 1
        diff[n_svc + bd.b] -= 1
        diff[bd.a] -= 1
        diff[n_svc + bd.a] += 1
        # o_b - o_a - e+ + e- = m - FLOOR * spread
        a_eq[i] = diff
        a_eq[i, 2 * n_svc + i] = -1
        a_eq[i, 2 * n_svc + nb + i] = 1
        b_eq[i] = bd.m - FLOOR * bd.spread
        # o_b - o_a - slack <= m
        a_ub[i] = diff
        a_ub[i, 2 * n_svc + 2 * nb + i] = -1
        b_ub[i] = bd.m
    box = [(0.0, 0.0 if v < 2 * n_svc and v % n_svc in zero else None) for v in range(n_var)]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
    if not res.success:
        return None
    return float(res.fun), np.asarray(res.x, dtype=np.float64)


def solve_offsets(n_svc: int, bounds: list[Bound]) -> tuple[F64, set[int]]:
    """(offset per service, services on bounds that had to be broken).

    Where the fit leaves a choice (bounds only one-sided), as few services as
    possible move: one skewed clock, not two moved halfway.

    A certain pair's estimate counts away from clocks seen off only between
    clocks whose every fast certain step it leaves fast: a clock ahead by
    400 ms makes each step into it look 400 ms longer; a step that takes 400
    ms before its tail looks the same from that step alone, but not from the
    clock's other steps (redone without the clocks it would leave with a
    step far from fast)."""
    if not bounds:
        return np.zeros(n_svc), set()
    free = set(range(n_svc))
    while True:
        got = _fit(n_svc, bounds, free)
        if got is None:
            return np.zeros(n_svc), set(range(n_svc))
        o, conflict, kept = got
        slow = _held_back(o, kept) & free
        if not slow:
            return o, conflict
        free -= slow


def _held_back(o: F64, bounds: list[Bound]) -> set[int]:
    """Services the estimates cannot move: one with a fast certain step whose
    shortest latency, with the clocks at ``o``, stays far above a log-normal
    step's (steps there take a fixed time); or one moved that fewer than two
    fast certain steps put where it is (one step's fixed time and a clock
    look alike)."""
    slow: set[int] = set()
    fast: dict[int, int] = {}
    for bd in bounds:
        if bd.soft or bd.learned or bd.spread > FLOOR_SPREAD_MS:
            continue
        left = bd.m - FLOOR * bd.spread - (o[bd.b] - o[bd.a])
        if left > max(_SLOW_SPREADS * bd.spread, _SLOW_MS):
            slow |= {bd.a, bd.b}
        else:
            for sv in (bd.a, bd.b):
                fast[sv] = fast.get(sv, 0) + 1
    moved = {sv for sv in range(o.size) if abs(o[sv]) >= 0.5 and fast.get(sv, 0) < 2}
    return slow | moved


def _fit(n_svc: int, bounds: list[Bound], free: set[int]) -> tuple[F64, set[int], list[Bound]] | None:
    got = _lp(n_svc, bounds, set(), free)
    if got is None:
        return None
    cost, x = got
    # A learned cause the other bounds contradict is no cause (a slower
    # sibling taken for an effect): its bound goes, and the fit is redone
    # without it, rather than every clock bent to keep it half.
    for _ in range(_DROP_ROUNDS):
        nb = len(bounds)
        broken = {i for i, bd in enumerate(bounds) if bd.learned and x[2 * n_svc + 2 * nb + i] > 1.0}
        if not broken:
            break
        bounds = [bd for i, bd in enumerate(bounds) if i not in broken]
        got = _lp(n_svc, bounds, set(), free)
        if got is None:
            return None
        cost, x = got
    nb = len(bounds)
    zero: set[int] = set()
    o = x[:n_svc] - x[n_svc : 2 * n_svc]
    for sv in np.argsort(np.abs(o), kind="stable").tolist():
        if abs(o[sv]) < 0.5:
            zero.add(sv)
            continue
        trial = _lp(n_svc, bounds, zero | {sv}, free)
        if trial is not None and trial[0] <= cost + 1e-3:
            zero.add(sv)
            cost, x = trial
    o = x[:n_svc] - x[n_svc : 2 * n_svc]
    conflict: set[int] = set()
    for i, bd in enumerate(bounds):
        if not bd.soft and x[2 * n_svc + 2 * nb + i] > 1.0:
            conflict |= {bd.a, bd.b}
    return o, conflict, bounds
