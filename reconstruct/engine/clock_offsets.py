"""Producers' clock offsets from cause-effect pairs of event types.

The effect cannot come before its cause, so every pair (a emitted by service
A, b by service B, a before b) bounds their offset difference:
``o_B - o_A <= m``, with m a robust minimum of ``ts_b - ts_a``. A step's
shortest latency is a small part of its spread (a fifth of it for a
log-normal latency), so each bound also *estimates* the difference:
``o_B - o_A ~ m - FLOOR x spread``, the more precisely the tighter the step.
The offsets are the weighted-L1 best fit of those estimates (weight: one over
the spread, so a 50 ms step counts forty times a two-second one) that breaks
no bound (bounds that cannot all hold get slack: their services are marked),
against a pull towards zero of one ``TIGHT`` ms step: only steps faster than
that move a clock that no bound forces to move. Spread and bounds are both
unaffected by the clocks, so a fast step between two hosts ties their clocks
together to within its latency; slow steps (whose shortest latency says
little) only ever move a clock as far as their bound forces it, as in
Jaeger's adjuster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from choreo.reconstruct.engine.precedence_pairs import F64

FLOOR = 0.2  # a step's shortest latency, as a share of its spread
_PULL = 1e-6  # weight of |o| per ms: it only settles what the bounds leave open
_FULL = 50  # pairs behind a bound for it to count in full
_HARD = 1e3  # cost per ms of breaking a bound


@dataclass(frozen=True)
class Bound:
    """``o[b] - o[a] <= m`` from ``pairs`` cause-effect pairs whose time difference spreads ``spread`` ms."""

    a: int
    b: int
    m: float
    pairs: int
    spread: float
    floor_near_zero: bool  # the latency looks log-normal-like (long right tail): its floor is small


def _lp(n_svc: int, bounds: list[Bound], zero: set[int]) -> tuple[float, F64] | None:
    nb = len(bounds)
    # Variables: p, q (o = p - q), then per bound e+ and e- (deviation from its
    # estimate) and a slack that breaks it.
    n_var = 2 * n_svc + 3 * nb
    weight = np.array(
        [min(1.0, b.pairs / _FULL) / max(b.spread, 1.0) if b.floor_near_zero else 0.0 for b in bounds]
    )
    c = np.r_[np.full(2 * n_svc, _PULL), weight, weight, np.full(nb, _HARD)]
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
    possible move: one skewed clock, not two moved halfway."""
    if not bounds:
        return np.zeros(n_svc), set()
    got = _lp(n_svc, bounds, set())
    if got is None:
        return np.zeros(n_svc), set(range(n_svc))
    cost, x = got
    nb = len(bounds)
    zero: set[int] = set()
    o = x[:n_svc] - x[n_svc : 2 * n_svc]
    for sv in np.argsort(np.abs(o), kind="stable").tolist():
        if abs(o[sv]) < 0.5:
            zero.add(sv)
            continue
        trial = _lp(n_svc, bounds, zero | {sv})
        if trial is not None and trial[0] <= cost + 1e-3:
            zero.add(sv)
            cost, x = trial
    o = x[:n_svc] - x[n_svc : 2 * n_svc]
    conflict: set[int] = set()
    for i, bd in enumerate(bounds):
        if x[2 * n_svc + 2 * nb + i] > 1.0:
            conflict |= {bd.a, bd.b}
    return o, conflict
