"""Stretches of the log an outage delayed as a whole, found among a step's
latencies (vectorised, no sort: counts per stretch of time and latency bin).

A service down for hours works off its backlog when it comes back: every
reaction in that stretch of the log is minutes or hours late, a third of the
log, say. That is an outage, not what the step's latency normally is. A slow
path taken now and then (a human approval beside an automatic one) is in
every stretch alike: a stretch's *fast quarter* tells the two apart (the
rule ``model_branches.delayed_stretches_out`` applies to branches).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

DELAYED = 10.0  # a stretch whose fast quarter is this much slower than usual: an outage's backlog
STRETCHES = 50  # the log's time cut into this many stretches
MIN_ROWS = 5  # latencies in a stretch for its fast quarter to say anything
MIN_STRETCHES = 3  # stretches that say something, for a "usual" to compare with
_BIN = 0.5  # latency bins, in log space (a factor 1.65: far finer than the 10-fold)


def delayed_rows(key: I64, n_keys: int, t: I64, lat: F64) -> BOOL:
    """Per row (a latency of step ``key`` in ``0..n_keys-1`` whose cause
    happened at ``t``): whether it lies in a stretch of the log where that
    step's fast quarter is ``DELAYED`` times slower than in its median
    stretch."""
    n = key.size
    if n == 0 or n_keys == 0:
        return np.zeros(n, dtype=bool)
    t_lo, t_hi = int(t.min()), int(t.max())
    stretch = np.minimum((t - t_lo) * STRETCHES // max(t_hi - t_lo + 1, 1), STRETCHES - 1)
    g = key * STRETCHES + stretch
    lb = np.floor(np.log(np.maximum(lat, 1.0)) / _BIN).astype(np.int64)
    lb_min = int(lb.min())
    lb -= lb_min
    n_bins = int(lb.max()) + 1
    hist = np.bincount(g * n_bins + lb, minlength=n_keys * STRETCHES * n_bins).reshape(-1, n_bins)
    count = hist.sum(axis=1)
    # Each stretch's fast quarter: the bin where a quarter of its latencies is reached.
    quarter = np.argmax(np.cumsum(hist, axis=1) * 4 >= np.maximum(count, 1)[:, None], axis=1)
    said = (count >= MIN_ROWS).reshape(n_keys, STRETCHES)
    fast = np.where(said, quarter.reshape(n_keys, STRETCHES).astype(np.float64), np.nan)
    enough = said.sum(axis=1) >= MIN_STRETCHES
    with np.errstate(all="ignore"):
        usual = np.nanmedian(np.where(enough[:, None], fast, 0.0), axis=1)
    late = said & enough[:, None] & (fast > usual[:, None] + np.log(DELAYED) / _BIN)
    return np.asarray(late.reshape(-1)[g], dtype=bool)
