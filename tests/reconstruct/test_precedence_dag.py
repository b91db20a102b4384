"""The precedence relation decided from pair statistics (``precedence_dag``),
on times simulated in true time and stamped by skewed clocks: what each rule
may and may not conclude."""

from __future__ import annotations

import numpy as np
import pytest

from choreo.reconstruct.engine.precedence_dag import _KELLY_SE, Matrices, decide
from choreo.reconstruct.engine.precedence_pairs import F64, I64


def _kelly(d: F64) -> float:
    q10, q50, q90 = np.quantile(d, [0.1, 0.5, 0.9])
    return float((q90 + q10 - 2 * q50) / (q90 - q10)) if q90 > q10 else 0.0


def _matrices(t: F64, hard: list[tuple[int, int]]) -> Matrices:
    """The statistics ``precedence_pairs`` gathers, from stamped times ``t``
    (instances x types); ``hard``: pairs a causation id or a partition orders."""
    m = t.shape[1]
    n = np.full((m, m), t.shape[0], dtype=np.int64)
    var, share, shape = np.zeros((m, m)), np.full((m, m), 0.5), np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i != j:
                d = t[:, j] - t[:, i]
                var[i, j] = float(d.var())
                share[i, j] = float((d > 0).mean() + 0.5 * (d == 0).mean())
                shape[i, j] = _kelly(d) * np.sqrt(t.shape[0]) / _KELLY_SE
    votes: I64 = np.zeros((m, m), dtype=np.int64)
    for i, j in hard:
        votes[i, j] = t.shape[0]
    return Matrices(list(range(m)), n, var, share, votes, np.zeros((m, m), dtype=bool), shape, t)


def _lognormal(rng: np.random.Generator, median_ms: float, size: int) -> F64:
    return np.asarray(median_ms * np.exp(rng.normal(0.0, 0.8, size)), dtype=np.float64)


@pytest.mark.parametrize("seed", range(10))
def test_a_join_after_a_slow_branch_does_not_put_a_fast_step_before_its_cause(seed: int) -> None:
    """Accepted -> Picked (a minute) -> Queued (140 ms) -> four branches
    (Checked 2 s | Routed -> Stamped | Verified -> Logged | Underwritten) ->
    Scheduled, which waits for all four -> Delivered (minutes). Scheduled's
    time follows the slowest branch, so measured from it Picked looks as near
    as a step on a faster branch: that must not put the step before Picked
    (against a clear right tail). Known for certain: the pairs one partition
    orders. Clocks as the seed-7 trafficgen log has them (-413 to +235 ms)."""
    rng = np.random.default_rng(seed)
    size = 1_200
    accepted = np.zeros(size)
    picked = accepted + _lognormal(rng, 69_000.0, size)
    queued = picked + _lognormal(rng, 137.0, size)
    checked = queued + _lognormal(rng, 2_000.0, size)
    routed = queued + _lognormal(rng, 400.0, size)
    stamped = routed + _lognormal(rng, 54.0, size)
    verified = queued + _lognormal(rng, 204.0, size)
    logged = verified + _lognormal(rng, 193.0, size)
    underwritten = queued + _lognormal(rng, 78.0, size)
    scheduled = np.maximum.reduce([checked, stamped, logged, underwritten]) + _lognormal(rng, 887.0, size)
    delivered = scheduled + _lognormal(rng, 738_000.0, size)
    skew = np.array([172.0, 172.0, -297.0, -413.0, -297.0, -297.0, 235.0, 235.0, -1.0, -301.0, -301.0])
    cols = [accepted, picked, queued, checked, routed, stamped, verified, logged, underwritten]
    t = np.column_stack([*cols, scheduled, delivered]) + skew
    A, P, Q, C, R, S, V, L, U, SC, D = range(11)
    d = decide(_matrices(t, [(A, P), (Q, R), (R, S), (V, L), (SC, D)]))
    after_picked = [x for x in (Q, C, R, S, V, L, U, SC, D) if d.before[x, P]]
    assert after_picked == [], {k: v for k, v in d.how.items() if v == "structure"}
