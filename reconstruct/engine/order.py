"""Order within instances without taking cross-host timestamps at face value.

What is certain comes first, timestamps last:

- *Kafka position*: two events of one instance in the same topic-partition
  are in offset order (an effect is appended after its cause was, whatever
  the producers' clocks say);
- *causation*: an event comes after the event its causation id names;
- *learned precedence* (soft, ``reconstruct.engine.precedence``): an event
  comes after the event of the type that precedes its type in (nearly)
  every instance where that is certain; dropped where it would contradict
  the two above;
- *clock offsets* (``reconstruct.engine.precedence``): each producer's
  timestamps corrected by its clock's estimated offset.

The constraints form a DAG per instance. In the spirit of Jaeger's
clock-skew adjuster, an event that a constraint puts after an event stamped
later is moved to that event's time, and the shift is carried on to the
events emitted after it by the same service (they share the clock); every
adjustment is recorded (``skew`` = adjusted - stamped time, clock offset
included). Events then sort by adjusted time, then by their depth in the
DAG (so equal times follow the Kafka position and causation), then by
topic-partition; never by a hash.

Works level by level over the DAG (roots first; one walk over the edges in
the native core), so the cost is linear in the events and edges. Cycles
(causation ids forming a loop, a learned precedence against the Kafka
position) are broken: learned edges first, then whatever remains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from choreo import _native

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


@dataclass
class Ordered:
    seq: I64  # position in the instance's order (duplicates included)
    adj: I64  # adjusted timestamp
    skew: I64  # adj - ts (clock offset and constraint shifts)
    parent: I64  # causal parent position, -1 when none (cycles broken)
    order: I64  # positions sorted by (component, seq)


@dataclass(frozen=True)
class Constraints:
    """The order constraints of one run, as positions (-1: none).

    ``parent``: causation (hard); ``prev``: the previous event of the same
    instance in the same topic-partition (hard); ``learned``: per slot, an
    event of a type that precedes its type (soft; a join waits for several);
    ``clock``: the producer's estimated clock
    offset per event (subtracted from its timestamp)."""

    parent: I64
    prev: I64
    learned: I64
    clock: I64


def partition_chain(comp: I64, tp: I64, offset: I64, original: BOOL) -> I64:
    """The previous original of the same instance in the same topic-partition
    (by offset, then position; -1: none).

    The native core groups the events by instance with a counting sort and
    orders each instance's few events (a sort of every event by instance
    and topic-partition is what numpy would need)."""
    prev = np.empty(comp.size, dtype=np.int64)
    _native.partition_chain(
        np.ascontiguousarray(comp, dtype=np.int64),
        np.ascontiguousarray(tp, dtype=np.int64),
        np.ascontiguousarray(offset, dtype=np.int64),
        np.ascontiguousarray(original, dtype=np.bool_).view(np.uint8),
        prev,
    )
    return prev


def _stable_by(group: I64, first: I64, n_groups: int) -> I64:
    """``first`` (a permutation of the positions of ``group``) stably sorted by
    group (each in ``0..n_groups``): a counting sort in the native core."""
    out = np.empty(group.size, dtype=np.int64)
    keys, given = np.ascontiguousarray(group, dtype=np.int64), np.ascontiguousarray(first, dtype=np.int64)
    _native.stable_by_group(keys, given, n_groups, out)
    return out


def _levels(cts: I64, service: I64, original: BOOL, kinds: list[I64], n_hard: int) -> tuple[I64, I64, BOOL]:
    """Adjusted time and depth of every original over the constraint DAG.

    ``kinds``: per kind of constraint, the position each position comes
    after (-1: none; only between two originals); the first ``n_hard`` are
    certain, the others learned. Returns (adj, depth, released): nodes
    released from a cycle (learned edges are let go of first, then whatever
    remains).

    Roots first, level by level: a node's time is the latest of its own
    (shifted as its service's earlier events were) and its parents'. The
    native core walks the edges once (``native/src/levels.rs``), with the
    level-by-level result.
    """
    n = cts.size
    adj = np.empty(n, dtype=np.int64)
    depth = np.empty(n, dtype=np.int64)
    released = np.empty(n, dtype=np.uint8)
    _native.levels(
        np.ascontiguousarray(cts, dtype=np.int64),
        np.ascontiguousarray(service, dtype=np.int64),
        np.ascontiguousarray(original, dtype=np.bool_).view(np.uint8),
        [np.ascontiguousarray(k, dtype=np.int64) for k in kinds],
        n_hard,
        adj,
        depth,
        released,
    )
    return adj, depth, released.view(np.bool_)


def _bits(x: int) -> int:
    return max(1, int(x).bit_length())


def _sort(comp: I64, adj: I64, depth: I64, tp: I64, dup_of: I64) -> I64:
    """Positions sorted by (component, adjusted time, depth, topic-partition),
    a duplicate right after its original.

    One packed 64-bit key sorted once, then grouped by component keeping
    that order (much cheaper than a multi-key lexsort on millions of
    events); a log whose span and depths do not fit 64 bits takes the lexsort.
    Every position must be in a component (``comp`` >= 0).
    """
    n = comp.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    is_dup = dup_of >= 0
    rel = adj - adj.min()
    bt, bd, bp = _bits(int(rel.max())), _bits(int(depth.max())), _bits(int(tp.max()) if tp.size else 0)
    if bt + bd + bp + 1 <= 64:
        key = rel.view(np.uint64)
        key <<= np.uint64(bd)
        key |= depth.astype(np.uint64)
        key <<= np.uint64(bp)
        key |= tp.astype(np.uint64)
        key <<= np.uint64(1)
        dups = np.flatnonzero(is_dup)
        key[dups] = key[dup_of[dups]] | np.uint64(1)
        first = np.argsort(key, kind="stable")
    else:
        src = np.where(is_dup, dup_of, np.arange(n, dtype=np.int64))
        first = np.lexsort((is_dup, tp[src], depth[src], rel[src]))
    return _stable_by(comp, first, int(comp.max()) + 1)


def _by_phase(
    order: I64, comp: I64, adj: I64, kind: I64, tp: I64, original: BOOL, phase_of: Callable[[I64], I64]
) -> I64:
    """``order`` with each run of a type's events tied on time in one instance
    put in lifecycle order (start before complete), each duplicate still
    right after its original. Not by depth: one of them following an earlier
    event on its partition says nothing about the other; a run with two
    events on one partition keeps their position order."""
    at = np.flatnonzero(original[order])  # where each original sits in ``order``
    o = order[at]
    if o.size < 2:
        return order
    same = (comp[o[1:]] == comp[o[:-1]]) & (adj[o[1:]] == adj[o[:-1]]) & (kind[o[1:]] == kind[o[:-1]])
    if not same.any():
        return order
    # Runs of tied originals: run id per original (-1: alone).
    starts = np.flatnonzero(np.r_[True, ~same])
    run = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, o.size]))
    size = np.bincount(run)
    tied = np.flatnonzero(size[run] > 1)
    phase = np.zeros(o.size, dtype=np.int64)
    phase[tied] = phase_of(o[tied])
    lo = np.full(size.size, np.iinfo(np.int64).max)
    hi = np.full(size.size, np.iinfo(np.int64).min)
    np.minimum.at(lo, run[tied], phase[tied])
    np.maximum.at(hi, run[tied], phase[tied])
    # (a run with two events on one partition: their position decides)
    tpk = run[tied] * (int(tp.max()) + 1) + tp[o[tied]]
    shared = np.zeros(size.size, dtype=bool)
    u, cnt = np.unique(tpk, return_counts=True)
    shared[u[cnt > 1] // (int(tp.max()) + 1)] = True
    moving = (hi > lo) & ~shared
    if not moving.any():
        return order
    key = np.where(moving[run], phase, 0)
    perm = np.lexsort((np.arange(o.size), key, run))  # runs stay where they are
    # Each original's block in ``order`` (itself and its duplicates), moved whole.
    length = np.diff(np.r_[at, order.size])
    lens = length[perm]
    within = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
    return np.asarray(np.r_[order[: at[0]], order[np.repeat(at[perm], lens) + within]], dtype=np.int64)


def causal_order(
    comp: I64,
    ts: I64,
    service: I64,
    dup_of: I64,
    tp: I64,
    constraints: Constraints,
    *,
    kind: I64 | None = None,
    phase_of: Callable[[I64], I64] | None = None,
) -> Ordered:
    """Order events (positions 0..n-1) within their components.

    ``dup_of``: the original's position for a duplicate, else -1 (a
    duplicate keeps its own timestamp and sorts right after its original);
    ``tp``: topic-partition code (the last tie-break). ``kind`` (the type
    of each event) and ``phase_of`` (positions -> lifecycle rank): events of
    one type tied on time in one instance follow their lifecycle
    transition (start before complete).
    """
    n = comp.size
    is_dup = dup_of >= 0
    original = ~is_dup
    c = constraints
    cts = ts - c.clock
    adj, depth, released = _levels(cts, service, original, [c.parent, c.prev, *c.learned], 2)
    # A causation link into a broken cycle is not shown as one.
    parent = np.where(original & (c.parent >= 0), c.parent, -1)
    cyc = released & (parent >= 0)
    parent[cyc] = np.where(released[parent[cyc]], -1, parent[cyc])
    adj = np.where(is_dup, ts, adj)
    depth = np.minimum(depth, (1 << 20) - 1)
    order = _sort(comp, adj, depth, tp, dup_of)
    if kind is not None and phase_of is not None:
        order = _by_phase(order, comp, adj, kind, tp, original, phase_of)
    sorted_comp = comp[order]
    starts = np.r_[0, np.nonzero(np.diff(sorted_comp))[0] + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(n, dtype=np.int64) - first
    skew = adj - ts
    skew[is_dup] = 0
    return Ordered(seq=seq, adj=adj, skew=skew, parent=parent, order=order)
