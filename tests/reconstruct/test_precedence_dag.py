"""The precedence relation decided from pair statistics (``precedence_dag``),
on times simulated in true time and stamped by skewed clocks: what each rule
may and may not conclude."""

from __future__ import annotations

import numpy as np
import pytest

from choreo.reconstruct.engine.precedence_dag import _KELLY_SE, Matrices, _dependent, decide
from choreo.reconstruct.engine.precedence_pairs import F64, I64


def _kelly(d: F64) -> float:
    q10, q50, q90 = np.quantile(d, [0.1, 0.5, 0.9])
    return float((q90 + q10 - 2 * q50) / (q90 - q10)) if q90 > q10 else 0.0


def _matrices(t: F64, hard: list[tuple[int, int]]) -> Matrices:
    """The statistics ``precedence_pairs`` gathers, from stamped times ``t``
    (instances x types); ``hard``: pairs a causation id or a partition orders."""
    m = t.shape[1]
    n = np.zeros((m, m), dtype=np.int64)
    var, share, shape = np.zeros((m, m)), np.full((m, m), 0.5), np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i != j:
                d = t[:, j] - t[:, i]
                d = d[~np.isnan(d)]  # (NaN: the instance lacks one of the two)
                n[i, j] = d.size
                var[i, j] = float(d.var())
                share[i, j] = float((d > 0).mean() + 0.5 * (d == 0).mean())
                shape[i, j] = _kelly(d) * np.sqrt(d.size) / _KELLY_SE
    votes: I64 = np.zeros((m, m), dtype=np.int64)
    for i, j in hard:
        votes[i, j] = n[i, j]
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


@pytest.mark.parametrize("seed", range(5))
def test_a_step_between_two_scaled_out_services_follows_its_cause(seed: int) -> None:
    """Placed -> Paid (a minute; certain) -> Delivered (courier app, two
    hosts 490 ms apart) -> Completed (order service, two hosts 396 ms apart),
    150 ms later. Each event is stamped by either host of its service, so
    Completed comes first in about a third of the instances and the
    difference is four humps: no timestamp share or shape can order the
    step. Completed is never found without Delivered, which stalls before
    it in some instances: Delivered comes first."""
    rng = np.random.default_rng(seed)
    size = 1_500
    placed = np.zeros(size)
    paid = placed + _lognormal(rng, 60_000.0, size)
    delivered = paid + _lognormal(rng, 900_000.0, size)
    completed = delivered + _lognormal(rng, 150.0, size)
    completed[rng.random(size) < 0.02] = np.nan  # the order service stalled
    # Stamped by either host of each service (each service's mean offset
    # corrected, as the clock estimate leaves it):
    delivered += rng.choice([245.0, -245.0], size)
    completed += rng.choice([-198.0, 198.0], size)
    t = np.column_stack([placed, paid, delivered, completed])
    P, A, D, C = range(4)
    mx = _matrices(t, [(P, A)])
    assert 0.5 < mx.share[D, C] < 0.8  # timestamps alone cannot order them
    d = decide(mx)
    assert d.before[D, C] and not d.before[C, D], d.how


def test_a_type_found_alone_is_not_put_after_one_it_never_needs() -> None:
    """Two branches of one parent, either stalling now and then: neither is
    found only with the other, so dependency orders neither after the other
    (timestamps disagree too often to)."""
    rng = np.random.default_rng(4)
    size = 1_500
    parent = np.zeros(size)
    fast = parent + _lognormal(rng, 300.0, size)
    slow = parent + _lognormal(rng, 500.0, size)
    fast[rng.random(size) < 0.02] = np.nan
    slow[rng.random(size) < 0.02] = np.nan
    d = decide(_matrices(np.column_stack([parent, fast, slow]), [(0, 1), (0, 2)]))
    assert not d.before[1, 2] and not d.before[2, 1], d.how


def test_a_branch_whose_service_went_down_is_no_effect_of_its_faster_sibling() -> None:
    """Sign-ups fan out to three services answering in their own time
    (as ``saga_builder.fan_out`` has them); the recommendations' service
    answered the first 25 of 400 and then went down. Recommendations are
    never found without the welcome mail, which is found without them 375
    times: no dependency (the mail goes without them in most instances), so
    neither is put after the other (the code before this rule's cap
    ordered them, and the clock fit then moved the analytics service)."""
    i = np.arange(400)
    signed = np.zeros(i.size)
    welcome = signed + 50 + 37 * (i % 3)
    analytics = signed + 60 + 23 * (i % 4)
    recommended = np.where(i < 25, signed + 70 + 19 * (i % 5), np.nan)
    mx = _matrices(np.column_stack([signed, welcome, analytics, recommended]), [])
    dependent, _alone = _dependent(mx)
    assert not dependent[1, 3] and not dependent[2, 3]
    d = decide(mx)
    assert not d.before[1, 3] and not d.before[2, 3], d.how
