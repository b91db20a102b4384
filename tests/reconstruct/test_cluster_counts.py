"""The workflow clusters' votes counted on the sparse presence matrix answer
exactly as the counts over every (instance, type) pair and the dense
column-block loop they replaced: which cluster each instance goes to decides
its workflow."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.sparse import csr_matrix

from choreo.reconstruct.engine.workflows import _assign, _per_type, _sparse

I64 = npt.NDArray[np.int64]
BOOL2 = npt.NDArray[np.bool_]


def _pairs(presence: BOOL2) -> tuple[I64, I64]:
    rows, cols = np.nonzero(presence)
    return rows.astype(np.int64), cols.astype(np.int64)


def _assign_by_pairs(presence: BOOL2, of_type: I64, n: int, fallback: I64) -> I64:
    """The previous form: a bincount over the pairs, the fallback by pair (the last pair wins)."""
    rows, cols = _pairs(presence)
    k = presence.shape[0]
    c = of_type[cols]
    keep = c >= 0
    votes = np.bincount(rows[keep] * n + c[keep], minlength=k * n).reshape(k, n)
    best = np.asarray(np.argmax(votes, axis=1), dtype=np.int64)
    none = votes.max(axis=1) == 0
    sel = none[rows]
    best[rows[sel]] = fallback[cols[sel]]
    return best


def _assign_dense(
    presence: BOOL2, of_type: I64, n: int, fallback: I64, purity: npt.NDArray[np.float64]
) -> I64:
    """The dense form: a column block per cluster, the purity tie-break added per type."""
    k, t = presence.shape
    votes = np.zeros((k, n), dtype=np.float64)
    for j in range(n):
        mine = np.flatnonzero(of_type == j)
        if mine.size:
            votes[:, j] = np.count_nonzero(presence[:, mine], axis=1)
            for m in mine:
                votes[:, j] += presence[:, m] * (purity[m] / (t + 1))
    best = np.asarray(np.argmax(votes, axis=1), dtype=np.int64)
    none = np.flatnonzero(votes.max(axis=1) == 0)
    held = presence[none]
    some = held.any(axis=1)
    last = t - 1 - np.argmax(held[:, ::-1], axis=1)
    best[none[some]] = fallback[last[some]]
    return best


def _x(presence: BOOL2) -> csr_matrix:
    return _sparse(presence)


def _presence(seed: int) -> tuple[BOOL2, I64, int, I64]:
    rng = np.random.default_rng(seed)
    k, t = int(rng.integers(1, 2000)), int(rng.integers(1, 25))
    presence = rng.random((k, t)) < rng.uniform(0.05, 0.5)
    n = int(rng.integers(1, 6))
    of_type = rng.integers(-1, n, t).astype(np.int64)  # -1: a shared type, votes for none
    fallback = rng.integers(0, n, t).astype(np.int64)
    return presence, of_type, n, fallback


@pytest.mark.parametrize("seed", range(10))
def test_assign_counts_as_the_pairs_did(seed: int) -> None:
    presence, of_type, n, fallback = _presence(seed)
    assert _assign(_x(presence), of_type, n, fallback).tolist() == (
        _assign_by_pairs(presence, of_type, n, fallback).tolist()
    )


@pytest.mark.parametrize("seed", range(10))
def test_assign_breaks_ties_by_purity_as_the_dense_loop_did(seed: int) -> None:
    presence, of_type, n, fallback = _presence(seed)
    # Equal counts are common with few types: the purity share decides them.
    purity = np.asarray(np.random.default_rng(seed + 100).random((presence.shape[1],)), dtype=np.float64)
    assert _assign(_x(presence), of_type, n, fallback, purity).tolist() == (
        _assign_dense(presence, of_type, n, fallback, purity).tolist()
    )


@pytest.mark.parametrize("seed", range(10))
def test_per_type_counts_as_the_pairs_did(seed: int) -> None:
    presence, of_type, n, fallback = _presence(seed)
    cluster = _assign(_x(presence), of_type, n, fallback)
    rows, cols = _pairs(presence)
    t = presence.shape[1]
    expected = np.bincount(cols * n + cluster[rows], minlength=t * n).reshape(t, n)
    assert _per_type(_x(presence), cluster, n).tolist() == expected.tolist()
