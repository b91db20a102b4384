"""The native grouping passes (native/src/groups.rs) and the counting forms
that replaced whole-log sorts answer exactly as the numpy/SciPy forms they
replace (instance numbers, each instance's order and the causal order
depend on them); the native ones refuse bad arrays with a ValueError,
never a crash."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from choreo import _native
from choreo.reconstruct.engine.order import _stable_by, partition_chain
from choreo.reconstruct.engine.precedence import _by_time

I64 = npt.NDArray[np.int64]


def _scipy_components(n: int, eid: I64, vid: npt.NDArray[np.int32], child: I64, parent: I64) -> I64:
    """The previous stitching: SciPy's components, densely renumbered."""
    n_values = int(vid.max()) + 1 if vid.size else 0
    a = np.r_[eid, child]
    b = np.r_[vid.astype(np.int64) + n, parent]
    size = n + n_values
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(size, size)).tocsr()
    _, labels = connected_components(graph, directed=True, connection="weak")
    linked = np.zeros(n, dtype=bool)
    linked[eid] = linked[child] = linked[parent] = True
    present = np.zeros(size, dtype=bool)
    present[labels[:n][linked]] = True
    dense = np.cumsum(present) - 1
    out = np.full(n, -1, dtype=np.int64)
    out[linked] = dense[labels[:n][linked]]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_components_are_scipys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    rows = int(rng.integers(0, 2 * n))
    eid = rng.integers(0, n, rows).astype(np.int64)
    vid = rng.integers(0, max(1, n // int(rng.integers(1, 8))), rows).astype(np.int32)
    child = np.unique(rng.integers(0, n, int(rng.integers(0, n // 2 + 1)))).astype(np.int64)
    parent = rng.integers(0, n, child.size).astype(np.int64)
    out = np.empty(n, dtype=np.int64)
    k = _native.components(eid, vid, child, parent, out)
    expected = _scipy_components(n, eid, vid, child, parent)
    assert out.tolist() == expected.tolist()
    assert k == len(set(expected.tolist()) - {-1})


def _numpy_chain(comp: I64, tp: I64, offset: I64, original: npt.NDArray[np.bool_]) -> I64:
    """By lexsort: within (instance, topic-partition), by offset then position."""
    prev = np.full(comp.size, -1, dtype=np.int64)
    pos = np.flatnonzero(original & (comp >= 0))
    srt = pos[np.lexsort((pos, offset[pos], tp[pos], comp[pos]))]
    same = (comp[srt][1:] == comp[srt][:-1]) & (tp[srt][1:] == tp[srt][:-1])
    prev[srt[1:][same]] = srt[:-1][same]
    return prev


@pytest.mark.parametrize("seed", range(6))
def test_partition_chain_is_the_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    comp = rng.integers(-1, max(1, n // 4), n).astype(np.int64)
    tp = rng.integers(0, 4, n).astype(np.int64)
    offset = rng.integers(0, n // 2 + 1, n).astype(np.int64)  # ties too
    original = rng.random(n) < 0.9
    assert (
        partition_chain(comp, tp, offset, original).tolist()
        == _numpy_chain(comp, tp, offset, original).tolist()
    )


@pytest.mark.parametrize("seed", range(4))
def test_stable_by_group_is_a_stable_argsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    groups = int(rng.integers(1, 2 * n))
    group = rng.integers(0, groups, n).astype(np.int64)
    first = rng.permutation(n).astype(np.int64)
    expected = first[np.argsort(group[first], kind="stable")]
    assert _stable_by(group, first, groups).tolist() == expected.tolist()


def test_bad_arrays_are_value_errors() -> None:
    out = np.empty(2, dtype=np.int64)
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="out of range"):
        _native.components(np.array([5]), np.array([0], dtype=np.int32), one[:0], one[:0], out)
    with pytest.raises(ValueError, match="negative"):
        _native.components(np.array([0]), np.array([-1], dtype=np.int32), one[:0], one[:0], out)
    with pytest.raises(ValueError, match="overlaps"):
        _native.stable_by_group(out, out, 4, out)
    with pytest.raises(ValueError, match="permutation"):
        _native.stable_by_group(np.arange(2, dtype=np.int64), np.ones(2, dtype=np.int64), 2, out)
    with pytest.raises(ValueError, match="read-only"):
        frozen = np.empty(2, dtype=np.int64)
        frozen.flags.writeable = False
        _native.stable_by_group(np.zeros(2, dtype=np.int64), np.arange(2, dtype=np.int64), 1, frozen)
    with pytest.raises(ValueError, match="contiguous"):
        _native.partition_chain(
            np.zeros(4, dtype=np.int64)[::2], one.repeat(2), one.repeat(2), np.ones(2, dtype=np.uint8), out
        )


@pytest.mark.parametrize("seed", range(4))
def test_last_and_first_by_time_are_the_stable_time_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4000))
    ids = rng.integers(0, max(1, n // 3), n).astype(np.int64)
    ids = np.unique(ids, return_inverse=True)[1].astype(np.int64)  # every id has rows
    pos = np.sort(rng.choice(10 * n, n, replace=False)).astype(np.int64)
    t = rng.integers(0, 20, n).astype(np.int64)  # many ties
    n_ids = int(ids.max()) + 1
    by_time = np.argsort(t, kind="stable")
    expected = np.empty(n_ids, dtype=np.int64)
    expected[ids[by_time]] = pos[by_time]
    assert _by_time(ids, pos, t, n_ids).tolist() == expected.tolist()
    expected_first = np.empty(n_ids, dtype=np.int64)
    expected_first[ids[by_time[::-1]]] = pos[by_time[::-1]]
    # (the reversed stable order puts the first of equal times last: assigned last, it stays)
    assert _by_time(ids, pos, t, n_ids, last=False).tolist() == expected_first.tolist()
    untimed = np.empty(n_ids, dtype=np.int64)
    untimed[ids] = pos
    assert _by_time(ids, pos, None, n_ids).tolist() == untimed.tolist()
    untimed_first = np.empty(n_ids, dtype=np.int64)
    untimed_first[ids[::-1]] = pos[::-1]
    assert _by_time(ids, pos, None, n_ids, last=False).tolist() == untimed_first.tolist()
