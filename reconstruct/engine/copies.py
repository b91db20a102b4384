"""Copies of one event: the same type and event id, or (no event id) the
same type, payload, key, identifiers and own event time (a payload field or
header, if it has one) and either the same timestamp (a producer's retry)
or timestamps within the redelivery window. When the copies carry an event
time and were stamped further apart than that time's resolution (plus a
second of slack), the later one cannot be the activity running again (it
would carry its own time): a redelivery. Otherwise a copy of the second
kind (a *twin*) is decided once the instances are stitched: a redelivery
when its instance moved on between the two copies or nothing of the
instance follows it; the activity running again (a loop whose repeats
carry nothing that tells them apart) when it came straight after its twin
and the instance went on from it. Copies further apart than the window are
distinct events, however alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc

from choreo.reconstruct.engine.arrays import arrow_u64, np_view

if TYPE_CHECKING:
    from choreo.reconstruct.engine.frame import Frame

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BOOL = npt.NDArray[np.bool_]


# Stamps of one emission may differ by this much beyond its own time's resolution
# (a broker's append time against the producer's).
_STAMP_SLACK_MS = 1000


def duplicates(
    dkey: U64,
    position: tuple[I64, npt.NDArray[np.int32], I64],
    ts: I64,
    by_content: BOOL,
    window_ms: int,
    stamped: I64 | None = None,
) -> tuple[I64, BOOL]:
    """For each copy, the copy before it (-1: an original), and whether it is
    a twin (a content copy with its own timestamp, to be decided later).
    ``stamped``: per record, the resolution (ms) of the event time it carries,
    -1 where it carries none.

    Copies of one key in stamped order (ties: Kafka position, so the copy
    written first is the original); a content copy
    further than ``window_ms`` from the one before is an original of its own.
    """
    n = dkey.size
    prev = np.full(n, -1, dtype=np.int64)
    twin = np.zeros(n, dtype=bool)
    if n == 0:
        return prev, twin
    # Only keys seen more than once matter (few): find them by sorting the keys.
    srt = np.sort(dkey)
    repeated = np.unique(srt[1:][srt[1:] == srt[:-1]])
    if repeated.size == 0:
        return prev, twin
    cand = np.nonzero(np_view(pc.is_in(arrow_u64(dkey), value_set=arrow_u64(repeated))))[0]
    gid = np.searchsorted(repeated, dkey[cand])
    topic, partition, offset = position
    order = cand[np.lexsort((offset[cand], partition[cand], topic[cand], ts[cand], gid))]
    g = np.searchsorted(repeated, dkey[order])
    same = g[1:] == g[:-1]
    cur, before = order[1:][same], order[:-1][same]
    gap = ts[cur] - ts[before]
    content = by_content[cur]
    far = content & (gap > window_ms)
    copy = ~far
    prev[cur[copy]] = before[copy]
    undecided = gap != 0
    if stamped is not None:
        res = stamped[cur]
        undecided &= (res < 0) | (gap <= res + _STAMP_SLACK_MS)
    twin[cur[copy & content & undecided]] = True
    return prev, twin


def originals(prev: I64) -> I64:
    """Follow the chains of copies to their original (-1 where it is one)."""
    out = prev.copy()
    while True:
        has = np.flatnonzero(out >= 0)
        nxt = out[out[has]]
        deeper = nxt >= 0
        if not deeper.any():
            return out
        out[has[deeper]] = nxt[deeper]


# Effects of a copy may be stamped up to this much before it (clock skew):
# they are not progress made before it.
_REACTION_MS = 1000


def settle_twins(f: Frame, comp: I64) -> I64:
    """``dup_of`` once every twin is decided. A twin is a redelivered
    duplicate when its instance moved on between the copy before it and
    itself, or when nothing of its instance follows it; it is an event of its
    own (the activity ran again) when it came straight after its twin and the
    instance went on from it. Copies of the same record never count as
    progress for each other."""
    tw = np.flatnonzero(f.twin & (comp >= 0))
    if tw.size == 0:
        return f.dup_of
    members = np.flatnonzero(comp >= 0)
    progress = (~f.is_dup | f.twin)[members]
    root = np.where(f.dup_of >= 0, f.dup_of, np.arange(f.n, dtype=np.int64))
    in_comp = _RangeCount(comp[members], f.ts[members], progress)
    in_chain = _RangeCount(root[members], f.ts[members], progress)
    prev = f.dup_prev[tw]
    t_prev, t_copy = f.ts[prev], f.ts[tw]
    cut = np.maximum(t_copy - _REACTION_MS, t_prev + 1)
    between = in_comp.count(comp[tw], t_prev + 1, cut) - in_chain.count(root[tw], t_prev + 1, cut)
    # What comes in the last moment before it may be its own effect (skewed):
    # neither progress before it nor proof that the instance went on from it.
    end = np.full(tw.size, np.iinfo(np.int64).max, dtype=np.int64)
    after = in_comp.count(comp[tw], t_copy, end) - in_chain.count(root[tw], t_copy, end)
    repeat = (between == 0) & (after > 0)
    out = f.dup_prev.copy()
    out[tw[repeat]] = -1
    return originals(out)


class _RangeCount:
    """How many flagged events of a group fall in a time range, for many
    (group, range) queries at once: one sort, binary searches."""

    def __init__(self, group: I64, ts: I64, flag: npt.NDArray[np.bool_]) -> None:
        self.times = np.unique(ts)
        self.span = np.int64(self.times.size + 1)
        key = group * self.span + np.searchsorted(self.times, ts)
        order = np.argsort(key, kind="stable")
        self.keys = key[order]
        self.cum = np.r_[0, np.cumsum(flag[order], dtype=np.int64)]

    def count(self, group: I64, lo: I64, hi: I64) -> I64:
        """Flagged events of ``group`` stamped in [lo, hi)."""
        base = group * self.span
        a = np.searchsorted(self.keys, base + np.searchsorted(self.times, lo), side="left")
        b = np.searchsorted(self.keys, base + np.searchsorted(self.times, hi), side="left")
        out: I64 = self.cum[b] - self.cum[a]
        return np.where(hi > lo, out, 0)
