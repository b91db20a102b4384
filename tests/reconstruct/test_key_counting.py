"""The counting shortcuts of the key statistics and the trap rule answer as the
slower numpy/DuckDB forms they replace (the verdicts depend on them exactly)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from choreo.reconstruct.engine.frame import _event_of
from choreo.reconstruct.engine.keys import _exact_distinct
from choreo.reconstruct.engine.traps import _one_of_each


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_of_each_is_np_uniques_first_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct keys, many repeats (which row is "first" matters).
    key = rng.integers(0, 50, 5000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert _one_of_each(key).tolist() == np.unique(key, return_index=True)[1].tolist()
    assert _one_of_each(np.zeros(0, dtype=np.uint64)).size == 0


def test_exact_distinct_per_code_among_kept_rows() -> None:
    rng = np.random.default_rng(5)
    code = rng.integers(0, 6, 20_000)
    link = rng.integers(0, 300, 20_000).astype(np.uint64)
    keep = rng.random(20_000) < 0.8
    wanted = np.array([True, True, False, True, True, True])
    keep &= code != 4  # a wanted code without a kept row: left out
    got = _exact_distinct(code, link, keep, wanted)
    expected = {
        c: len(set(link[keep & (code == c)].tolist()))
        for c in range(6)
        if wanted[c] and (keep & (code == c)).any()
    }
    assert got == expected
    assert 4 not in got and 2 not in got


def test_event_of_with_a_connection_as_without() -> None:
    rng = np.random.default_rng(3)
    ev_h = rng.integers(0, 2**63, 4000, dtype=np.int64).astype(np.uint64)
    rows = ev_h[rng.permutation(4000)[:2500].repeat(2)]  # out of event order, two rows per event
    rows = np.concatenate([rows, rng.integers(0, 2**63, 10, dtype=np.int64).astype(np.uint64)])
    with duckdb.connect() as con:
        by_join = _event_of(ev_h, rows, con)
    by_kernel = _event_of(ev_h, rows)
    assert by_join.tolist() == by_kernel.tolist()
    assert (by_join[-10:] == -1).all()
    assert (ev_h[by_join[:-10]] == rows[:-10]).all()
