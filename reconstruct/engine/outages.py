"""Stretches of the log an outage delayed as a whole, found among a step's
latencies (vectorised: one pass of sorts over every step at once).

A service down for hours works off its backlog when it comes back: every
reaction in that stretch of the log is minutes or hours late, a third of the
log, say. That is an outage, not what the step's latency normally is. A slow
path taken now and then (a human approval beside an automatic one) is in
every stretch alike: a stretch's *fast quarter* tells the two apart (the
same rule ``model_branches.delayed_stretches_out`` applies to branches).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

DELAYED = 10.0  # a stretch whose fast quarter is this much slower than usual: an outage's backlog
STRETCHES = 50  # at most this many stretches per step ...
PER_STRETCH = 20  # ... of at least this many latencies
MIN_STRETCHES = 3  # fewer: no "usual" to compare with


def _group_starts(sorted_key: I64) -> I64:
    if sorted_key.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(np.r_[0, np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1], dtype=np.int64)


def delayed_rows(key: I64, t: I64, lat: F64) -> BOOL:
    """Per row (a latency of step ``key`` whose cause happened at ``t``):
    whether it lies in a stretch of that step's timeline (its occurrences in
    time order, cut into up to ``STRETCHES`` runs) whose fast quarter is
    ``DELAYED`` times slower than the median stretch's."""
    n = key.size
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    order = np.lexsort((t, key))
    k = key[order]
    starts = _group_starts(k)
    counts = np.diff(np.r_[starts, n])
    per = np.repeat(counts, counts)
    rank = np.arange(n, dtype=np.int64) - np.repeat(starts, counts)
    n_str = np.clip(per // PER_STRETCH, 1, STRETCHES)
    stretch = rank * n_str // per
    # (step, stretch) groups are contiguous in this order: number them.
    gid = np.cumsum(np.r_[True, (k[1:] != k[:-1]) | (stretch[1:] != stretch[:-1])]) - 1
    v = lat[order]
    by_lat = np.lexsort((v, gid))
    g_starts = _group_starts(gid[by_lat])
    g_counts = np.diff(np.r_[g_starts, n])
    fast = v[by_lat][g_starts + (g_counts - 1) // 4]  # each stretch's fast quarter
    g_step = k[by_lat][g_starts]
    # The usual stretch of each step: the median of its stretches' fast quarters.
    by_fast = np.lexsort((fast, g_step))
    s_starts = _group_starts(g_step[by_fast])
    s_counts = np.diff(np.r_[s_starts, fast.size])
    usual = np.maximum(fast[by_fast][s_starts + (s_counts - 1) // 2], 1.0)
    step_of_group = np.empty(fast.size, dtype=np.int64)
    step_of_group[by_fast] = np.repeat(np.arange(s_starts.size), s_counts)
    late = (s_counts[step_of_group] >= MIN_STRETCHES) & (fast > DELAYED * usual[step_of_group])
    out[order] = late[gid]
    return out
