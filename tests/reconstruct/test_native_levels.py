"""The causal order's level pass in the native core (native/src/levels.rs)
answers exactly as the numpy level-by-level form it replaced (adjusted
times, depths, cycles broken the same way), and refuses bad arrays with a
ValueError, never a crash."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from choreo import _native
from choreo.reconstruct.engine.order import _levels

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
_NEG = np.iinfo(np.int64).min // 4


def _numpy_levels(
    cts: I64, service: I64, original: BOOL, edges: list[tuple[I64, I64, bool]]
) -> tuple[I64, I64, BOOL]:
    """The previous form: one numpy pass per level over each kind's edges."""
    n = cts.size
    indeg = np.zeros(n, dtype=np.int64)
    kinds = []
    for src, dst, hard in edges:
        indeg += np.bincount(dst, minlength=n)
        order = np.argsort(src, kind="stable")
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
        kinds.append((ptr, dst[order], src[order], hard))
    adj, inh = cts.copy(), np.zeros(n, dtype=np.int64)
    pmax, depth = np.full(n, _NEG, dtype=np.int64), np.zeros(n, dtype=np.int64)
    done, released = ~original, np.zeros(n, dtype=bool)
    frontier = np.flatnonzero(original & (indeg == 0))
    while True:
        while frontier.size:
            done[frontier] = True
            adj[frontier] = np.maximum(cts[frontier] + inh[frontier], pmax[frontier])
            touched = []
            for ptr, dst, _src, _hard in kinds:
                counts = ptr[frontier + 1] - ptr[frontier]
                par = np.repeat(frontier, counts)
                offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
                child = dst[np.repeat(ptr[frontier], counts) + offs]
                keep = ~done[child]
                child, par = child[keep], par[keep]
                same = service[child] == service[par]
                inh[child] = np.maximum(inh[child], np.where(same, adj[par] - cts[par], 0))
                pmax[child] = np.maximum(pmax[child], adj[par])
                depth[child] = np.maximum(depth[child], depth[par] + 1)
                indeg[child] -= 1
                touched.append(child[indeg[child] == 0])
            if not touched:
                break
            frontier = np.unique(np.concatenate(touched))
        left = np.flatnonzero(~done)
        if left.size == 0:
            return adj, depth, released
        hard_left = np.zeros(n, dtype=np.int64)
        for _ptr, dst, src, hard in kinds:
            if hard:
                hard_left += np.bincount(dst[~done[src] & ~done[dst]], minlength=n)
        free = left[hard_left[left] == 0]
        frontier = free if free.size else left
        released[frontier] = True
        indeg[frontier] = 0


def _graph(seed: int) -> tuple[I64, I64, BOOL, list[I64]]:
    """Random constraints: two certain kinds, two learned; per kind the
    position each position comes after, mostly earlier ones, some later
    (cycles), some not originals or itself (no edge)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    cts = rng.integers(0, 10_000, n).astype(np.int64)
    service = rng.integers(0, 4, n).astype(np.int64)
    original = rng.random(n) < 0.9
    kinds = []
    for _ in range(4):
        at = np.arange(n)
        back = rng.random(n) < 0.05
        after = np.where(back, at + rng.integers(0, 20, n), at - rng.integers(0, 20, n))
        kinds.append(np.where((after >= 0) & (after < n) & (rng.random(n) < 0.5), after, -1).astype(np.int64))
    return cts, service, original, kinds


def _edges(original: BOOL, kinds: list[I64]) -> list[tuple[I64, I64, bool]]:
    """The edges of each kind, as the causal order made them for the numpy form."""
    edges = []
    for i, arr in enumerate(kinds):
        dst = np.flatnonzero((arr >= 0) & original)
        src = arr[dst]
        ok = original[src] & (src != dst)
        edges.append((src[ok], dst[ok], i < 2))
    return edges


@pytest.mark.parametrize("seed", range(8))
def test_levels_are_the_numpy_ones(seed: int) -> None:
    cts, service, original, kinds = _graph(seed)
    adj, depth, released = _levels(cts, service, original, kinds, 2)
    e_adj, e_depth, e_released = _numpy_levels(cts, service, original, _edges(original, kinds))
    assert adj.tolist() == e_adj.tolist()
    assert depth.tolist() == e_depth.tolist()
    assert released.tolist() == e_released.tolist()


def test_the_graphs_hold_cycles() -> None:
    cycles = 0
    for seed in range(8):
        cts, service, original, kinds = _graph(seed)
        cycles += bool(_numpy_levels(cts, service, original, _edges(original, kinds))[2].any())
    assert cycles >= 4


def test_no_edges() -> None:
    cts = np.array([3, 1, 2], dtype=np.int64)
    adj, depth, released = _levels(cts, np.zeros(3, dtype=np.int64), np.ones(3, dtype=bool), [], 0)
    assert adj.tolist() == [3, 1, 2] and depth.tolist() == [0, 0, 0] and not released.any()


def test_bad_arrays_are_value_errors() -> None:
    one = np.zeros(2, dtype=np.int64)
    flags = np.ones(2, dtype=np.uint8)
    adj, depth, rel = np.empty(2, dtype=np.int64), np.empty(2, dtype=np.int64), np.empty(2, dtype=np.uint8)
    with pytest.raises(ValueError, match="out of range"):
        _native.levels(one, one, flags, [np.array([-1, 7])], 1, adj, depth, rel)
    with pytest.raises(ValueError, match="different lengths"):
        _native.levels(one, one, flags, [np.array([-1])], 1, adj, depth, rel)
    with pytest.raises(ValueError, match="overlaps"):
        _native.levels(one, one, flags, [], 0, one, depth, rel)
