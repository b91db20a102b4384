"""Time differences of a step between services scaled out to several hosts.

A service on two hosts with clocks 500 ms apart stamps each event with
whichever host handled it: the time from a cause to its effect is then the
step's latency plus one of a few fixed shifts (one per pair of hosts), a
distribution of a few humps. Its skewness then reads the humps' sizes, not
the latency's long tail: on our seed-21 log (two hosts per service) it put
OrderCompleted before OrderDelivered at five standard errors. Within the
humps the tail is back where they stand clear apart, but where they overlap
(two hosts on each side, clocks a second apart) it leans either way: so a
difference in humps tells no order at all (``precedence_pairs.step_shape``).

``groups`` finds the humps: cut at the 2-means cut where both sides are
large and the values thin out between their medians (a single hump is as
dense anywhere between two of its points as at the sparser of them).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

MIN_GROUP = 25  # values in a hump
MIN_GROUP_SHARE = 0.08  # ... and this share of the values
DIP = 0.5  # between two humps the values at most this dense, against the humps' medians
WINDOWS = 5  # windows between two medians where the dip is looked for
MIN_PEAK = 15  # values in a window at a hump's median, for a dip to be read
MIN_APART_MS = 20.0  # closer humps are one clock, as far as order goes
MAX_DEPTH = 2  # up to four humps (two hosts on each side)


def _dips(srt: F64, lo: float, hi: float) -> bool:
    """Whether the values thin out between ``lo`` and ``hi`` (two humps'
    medians). A single hump is at least as dense anywhere between two of
    its points as at the sparser of them; two humps are not."""
    w = (hi - lo) / WINDOWS
    edges = np.concatenate(([lo - w / 2], lo + w / 2 + w * np.arange(WINDOWS - 1), [hi - w / 2, hi + w / 2]))
    counts = np.diff(np.searchsorted(srt, edges))
    peak = min(int(counts[0]), int(counts[-1]))
    return peak >= MIN_PEAK and int(counts[1:-1].min()) <= DIP * peak


def _resolution(srt: F64) -> float:
    """The smallest step between distinct values (0: all equal)."""
    steps = np.diff(srt)
    steps = steps[steps > 0]
    return float(steps.min()) if steps.size else 0.0


def groups(srt: F64, depth: int = 0, *, resolution: float = 0.0) -> list[F64]:
    """Sorted values cut into humps: at the 2-means cut, where both sides
    are large and the values thin out between their medians; each side
    again. ``resolution``: the times' (a log stamped by the day has gaps
    of a day between its values: the resolution's, not two clocks')."""
    n = srt.size
    floor = max(MIN_GROUP, int(np.ceil(MIN_GROUP_SHARE * n)))
    if depth >= MAX_DEPTH or n < 2 * floor:
        return [srt]
    cs = np.cumsum(srt)
    cs2 = np.cumsum(srt * srt)
    k = np.arange(floor, n - floor + 1)  # the left side: srt[:k]
    sse = cs2[k - 1] - cs[k - 1] ** 2 / k + (cs2[-1] - cs2[k - 1]) - (cs[-1] - cs[k - 1]) ** 2 / (n - k)
    cut = int(k[int(np.argmin(sse))])
    a, b = srt[:cut], srt[cut:]
    lo, hi = float(a[(a.size - 1) // 2]), float(b[(b.size - 1) // 2])  # (sorted: lower medians)
    if hi - lo < max(MIN_APART_MS, WINDOWS * resolution) or not _dips(srt, lo, hi):
        return [srt]
    return groups(a, depth + 1, resolution=resolution) + groups(b, depth + 1, resolution=resolution)


def in_humps(srt: F64) -> bool:
    """Whether sorted values come in more than one hump."""
    return len(groups(srt, resolution=_resolution(srt))) > 1
