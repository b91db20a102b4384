"""A step's time difference when its services run on several hosts, each
with its own clock (``host_mixture``): humps found where they are, none
where there is one, and no order read off a shape in humps."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from choreo.reconstruct.engine.host_mixture import groups, in_humps
from choreo.reconstruct.engine.precedence_pairs import F64, Sample, pairs

Draw = Callable[[np.random.Generator, int], F64]

ONE_HUMP: dict[str, Draw] = {
    "normal": lambda r, n: r.normal(0.0, 100.0, n),
    "uniform": lambda r, n: r.uniform(0.0, 500.0, n),
    "exponential": lambda r, n: r.exponential(200.0, n),
    "lognormal-0.5": lambda r, n: 200.0 * r.lognormal(0.0, 0.5, n),
    "lognormal-1.0": lambda r, n: 200.0 * r.lognormal(0.0, 1.0, n),
    "student-3": lambda r, n: 100.0 * r.standard_t(3, n),
}


def _two_hosts(r: np.random.Generator, n: int, apart_ms: float = 480.0, share: float = 0.65) -> F64:
    """A 150 ms step (log-normal) whose effect is stamped by one of two hosts
    ``apart_ms`` apart, the later-running one handling ``share`` of them."""
    latency = 150.0 * r.lognormal(0.0, 0.6, n)
    return np.asarray(latency + np.where(r.random(n) < share, apart_ms, 0.0), dtype=np.float64)


def _kelly(srt: F64) -> float:
    q10, q50, q90 = (float(srt[int(np.floor(sh * (srt.size - 1)))]) for sh in (0.1, 0.5, 0.9))
    return (q90 + q10 - 2 * q50) / (q90 - q10)


@pytest.mark.parametrize("name", sorted(ONE_HUMP))
@pytest.mark.parametrize("n", [300, 3_000])
def test_one_hump_stays_one(name: str, n: int) -> None:
    """A single hump, however skewed or heavy-tailed, is never cut: it is
    as dense between any two of its points as at the sparser of them."""
    for seed in range(5):
        d = np.sort(ONE_HUMP[name](np.random.default_rng(seed), n))
        assert len(groups(d)) == 1, (name, n, seed)
        assert not in_humps(d)


def test_times_stamped_by_the_day_are_no_hosts() -> None:
    """A log stamped by the day (whole days between steps) has gaps between
    its values: the resolution's, not two clocks'."""
    day = 86_400_000.0
    r = np.random.default_rng(1)
    assert not in_humps(np.sort(day * r.choice([0.0, 1.0, 2.0, 3.0], size=500, p=[0.4, 0.3, 0.2, 0.1])))
    assert not in_humps(np.sort(day * r.poisson(3.0, size=800).astype(np.float64)))


def test_two_hosts_make_two_humps_whose_skewness_points_the_wrong_way() -> None:
    """With most effects on the host running 480 ms late, the two humps are
    found (480 ms apart), and the skewness of the whole reads their sizes:
    a left tail, as if the step ran backwards."""
    for seed in range(10):
        d = np.sort(_two_hosts(np.random.default_rng(seed), 1_500))
        humps = groups(d)
        assert len(humps) == 2
        assert abs(float(np.median(humps[1]) - np.median(humps[0])) - 480.0) < 80.0
        assert _kelly(d) < -0.2


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(300, 4_000),
    sigma=st.floats(0.3, 1.5),
)
def test_a_single_host_s_latency_is_never_cut(seed: int, n: int, sigma: float) -> None:
    """One clock on each side: a log-normal latency of any spread is one
    hump (its shape keeps telling the order)."""
    d = 120.0 * np.random.default_rng(seed).lognormal(0.0, sigma, n)
    assert not in_humps(np.sort(d))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), apart=st.floats(600.0, 2_000.0), share=st.floats(0.25, 0.75))
def test_hosts_far_apart_against_the_step_are_found(seed: int, apart: float, share: float) -> None:
    """Two hosts farther apart than the step's bulk, each handling a fair
    share: always two humps."""
    d = _two_hosts(np.random.default_rng(seed), 2_000, apart_ms=apart, share=share)
    assert in_humps(np.sort(d))


def test_pairs_read_no_order_off_a_shape_in_humps() -> None:
    """``precedence_pairs.pairs`` on instances whose second event's service
    runs on two hosts: the shape (kept for the clocks) reads the humps'
    sizes; the step's shape, for the order, says nothing."""
    r = np.random.default_rng(11)
    k = 1_200
    t0 = r.integers(0, 10**9, k)
    t1 = t0 + _two_hosts(r, k).astype(np.int64)
    inst = np.repeat(np.arange(k, dtype=np.int64), 2)
    ts = np.column_stack([t0, t1]).reshape(-1)
    typ = np.tile(np.array([0, 1], dtype=np.int64), k)
    zeros = np.zeros(2 * k, dtype=np.int64)
    tp, single = np.arange(2 * k, dtype=np.int64), np.ones(2 * k, dtype=bool)
    p = pairs(Sample(inst, zeros, typ, typ, ts, tp, zeros, single), 2)
    assert p.a.tolist() == [0] and p.b.tolist() == [1]
    assert float(p.shape[0]) < -0.2
    assert float(p.step_shape[0]) == 0.0
    one_host = np.column_stack([t0, t0 + (150.0 * r.lognormal(0.0, 0.6, k)).astype(np.int64)]).reshape(-1)
    q = pairs(Sample(inst, zeros, typ, typ, one_host, tp, zeros, single), 2)
    assert float(q.step_shape[0]) == float(q.shape[0]) > 0.1
