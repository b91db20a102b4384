"""Causal order within instances, with clock-skew adjustment (vectorised).

Causation first, timestamps second. An event stamped before its cause was
stamped by a skewed clock: in the spirit of Jaeger's clock-skew adjuster it
is moved to its cause's time, and the shift is carried down its causal
subtree through the events emitted by the same service (they share the
skewed clock); events of other services are only moved as far as needed to
stay after their own cause. Causes are therefore never ordered after their
effects, and the adjustment of every event is recorded.

Works level by level over the causal forest (roots first), so the cost is
linear in the number of events plus one numpy pass per causal depth.
Causation cycles (bad data) are broken by treating their members as roots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


@dataclass
class Ordered:
    seq: I64  # position in the instance's order (duplicates included)
    adj: I64  # skew-adjusted timestamp
    skew: I64  # adj - ts
    parent: I64  # causal parent position, -1 when none (cycles broken)
    order: I64  # positions sorted by (component, seq)


def _children_index(parent: I64) -> tuple[I64, I64]:
    """CSR of children: kids[ptr[p]:ptr[p+1]] are the children of p."""
    n = parent.size
    has = np.nonzero(parent >= 0)[0]
    kids = has[np.argsort(parent[has], kind="stable")]  # (nearly sorted already: timsort is linear)
    counts = np.bincount(parent[has], minlength=n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return kids.astype(np.int64), ptr


def _gather(ptr: I64, kids: I64, frontier: I64) -> tuple[I64, I64]:
    """All children of the frontier nodes and, aligned, their parents."""
    starts = ptr[frontier]
    counts = ptr[frontier + 1] - starts
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    par = np.repeat(frontier, counts)
    offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return kids[np.repeat(starts, counts) + offs], par


def _sort(comp: I64, adj: I64, depth: I64, tie: npt.NDArray[np.uint64], dup_of: I64) -> I64:
    """Positions sorted by (component, adjusted time, causal depth, tie, duplicate last).

    One packed 64-bit key (43 bits of time since the earliest event, about
    278 years; 4 of depth; the top 16 bits of the tie value; 1 duplicate
    flag) sorted once, then grouped by component keeping that order. Much
    cheaper than a multi-key lexsort on millions of events.
    """
    n = comp.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # Built in place on one array (each temporary of tens of millions of
    # values costs fresh pages as well as a pass over memory).
    is_dup = dup_of >= 0
    rel = adj - adj.min()
    np.clip(rel, 0, (1 << 43) - 1, out=rel)
    key = rel.view(np.uint64)
    key <<= np.uint64(21)
    part = np.minimum(depth, 15).view(np.uint64)
    part <<= np.uint64(17)
    key |= part
    np.right_shift(tie, np.uint64(48), out=part)
    part <<= np.uint64(1)
    key |= part
    del part
    # A duplicate sorts by its original's key, right after it.
    dups = np.flatnonzero(is_dup)
    key[dups] = key[dup_of[dups]] | np.uint64(1)
    first = np.argsort(key, kind="stable")
    if n >= 1 << 32 or int(comp.max()) >= 1 << 31:
        return np.asarray(first[np.argsort(comp[first], kind="stable")], dtype=np.int64)
    # Stable by component: the pairs (component, rank in ``first``) are unique,
    # so one plain sort of them packed in 64 bits (a SIMD sort) does it.
    packed = comp[first].astype(np.uint64)
    packed <<= np.uint64(32)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    packed &= np.uint64(0xFFFFFFFF)
    return np.asarray(first[packed.astype(np.int64)], dtype=np.int64)


def causal_order(
    comp: I64, ts: I64, service: I64, parent: I64, dup_of: I64, tie: npt.NDArray[np.uint64] | None = None
) -> Ordered:
    """Order events (positions 0..n-1) within their components.

    ``parent``: causal parent position or -1 (for originals only);
    ``dup_of``: the original's position for a duplicate, else -1.
    ``tie``: breaks ties between equal times; a value derived from the
    record's coordinates keeps the order the same however the log was
    sharded or scanned. Duplicates keep their own timestamp and sort right
    after their original.
    """
    n = comp.size
    adj = ts.copy()
    depth = np.zeros(n, dtype=np.int64)
    reached = np.zeros(n, dtype=bool)
    is_dup = dup_of >= 0
    parent = np.where(is_dup, -1, parent)
    kids, ptr = _children_index(parent)
    frontier = np.nonzero((parent < 0) & ~is_dup)[0].astype(np.int64)
    reached[frontier] = True
    level = 0
    while frontier.size:
        level += 1
        child, par = _gather(ptr, kids, frontier)
        child_mask = ~reached[child]  # a cycle re-entering reached nodes stops here
        child, par = child[child_mask], par[child_mask]
        if child.size == 0:
            break
        same_clock = service[child] == service[par]
        inherited = np.where(same_clock, adj[par] - ts[par], 0)
        adj[child] = np.maximum(ts[child] + inherited, adj[par])
        depth[child] = level
        reached[child] = True
        frontier = child
    # Members of causation cycles were never reached: roots at their own time.
    unreached = ~reached & ~is_dup
    parent = np.where(unreached, -1, parent)
    skew = adj - ts
    order = _sort(comp, adj, depth, np.arange(n, dtype=np.uint64) if tie is None else tie, dup_of)
    sorted_comp = comp[order]
    starts = np.r_[0, np.nonzero(np.diff(sorted_comp))[0] + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(n, dtype=np.int64) - first
    skew[is_dup] = 0
    return Ordered(seq=seq, adj=adj, skew=skew, parent=parent, order=order)
