"""Producers' clock offsets from cause-effect pairs of event types.

The effect cannot come before its cause, so every pair (a emitted by service
A, b by service B, a before b) bounds their offset difference:
``o_B - o_A <= min(ts_b - ts_a)`` (a robust minimum). The offsets are the
smallest in total that satisfy every bound (a linear program; bounds that
cannot all hold get slack), and among equally small ones as few services as
possible move: as in Jaeger's adjuster, nothing moves without evidence.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from choreo.reconstruct.engine.precedence_pairs import F64


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


def solve_offsets(n_svc: int, bounds: dict[tuple[int, int], tuple[int, int]]) -> tuple[F64, set[int]]:
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
