"""reconstruct.lookup.index_in: the DuckDB join answers as pyarrow's kernel does."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from choreo.reconstruct.engine.lookup import index_in


@pytest.mark.parametrize("small", [0, 10**9])  # the join, then the kernel
def test_positions_first_occurrence_and_misses(small: int) -> None:
    rng = np.random.default_rng(7)
    value_set = rng.integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64)
    value_set[4000:4100] = value_set[10:110]  # repeated keys: the first occurrence counts
    picked = value_set[rng.integers(0, 5000, 3000)]
    values = np.concatenate([picked, rng.integers(0, 2**63, 500, dtype=np.int64).astype(np.uint64)])
    first = {int(v): i for i, v in reversed(list(enumerate(value_set)))}
    expected = np.array([first.get(int(v), -1) for v in values])
    with duckdb.connect() as con:
        got = index_in(con, values, value_set, small=small)
    assert got.tolist() == expected.tolist()
    assert (got[-500:] == -1).all() and not ((got >= 4000) & (got < 4100)).any()


def test_empty_inputs() -> None:
    with duckdb.connect() as con:
        empty = np.zeros(0, dtype=np.uint64)
        assert index_in(con, empty, np.arange(3, dtype=np.uint64), small=0).size == 0
        assert index_in(con, np.arange(3, dtype=np.uint64), empty, small=0).tolist() == [-1, -1, -1]
