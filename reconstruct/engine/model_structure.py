"""What a workflow's instances say about its types, order aside from adjacency:
which types come first when both occur (first occurrences, so a loop's
repeats do not look like two orders), which never occur together
(alternatives), and how instances holding a type end.

Learnt from a sample of each workflow's instances (the model decides on
shares, which a sample of thousands estimates well).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

PER_WORKFLOW = 10_000
MIN_SUPPORT = 3
CONCURRENT_SHARE = 0.1  # both orders each in at least this share: parallel branches


@dataclass(frozen=True)
class Structure:
    """Per workflow w (rows of the sample), over types t:

    ``before[w, a, b]``: sampled instances where a's first event precedes b's;
    ``present[w, t]``: sampled instances holding t;
    ``ends[w, t, e]``: sampled instances holding t whose last event is of type e.
    """

    before: I64
    present: I64
    ends: I64

    def together(self, w: int, a: int, b: int) -> int:
        return int(self.before[w, a, b] + self.before[w, b, a])

    def concurrent(self, w: int, a: int, b: int) -> bool:
        """Both orders, each in at least CONCURRENT_SHARE of the instances holding both."""
        ab, ba = int(self.before[w, a, b]), int(self.before[w, b, a])
        n = ab + ba
        return a != b and n >= MIN_SUPPORT and min(ab, ba) >= CONCURRENT_SHARE * n

    def exclusive(self, w: int, a: int, b: int) -> bool:
        """Never (or all but rarely) in one instance: alternatives."""
        n = min(int(self.present[w, a]), int(self.present[w, b]))
        return n >= MIN_SUPPORT and self.together(w, a, b) <= 0.01 * n


def _sample(wf: I64, n_wf: int) -> npt.NDArray[np.bool_]:
    k = wf.size
    take = np.ones(k, dtype=bool)
    sizes = np.bincount(wf, minlength=n_wf)
    if (sizes <= PER_WORKFLOW).all():
        return take
    rnd = np.random.default_rng(1).random(k)
    for w in np.flatnonzero(sizes > PER_WORKFLOW):
        mine = np.flatnonzero(wf == w)
        take[mine] = False
        take[mine[np.argsort(rnd[mine])[:PER_WORKFLOW]]] = True
    return take


def structure(c_inst: I64, c_typ: I64, wf: I64, last_type: I64, n_types: int) -> Structure:
    """``c_inst``/``c_typ``: the originals of every instance in order (grouped
    by instance); ``wf``/``last_type``: per instance."""
    n_wf = int(wf.max()) + 1 if wf.size else 0
    t = n_types
    take = _sample(wf, n_wf)
    rows = np.flatnonzero(take[c_inst])
    inst, typ = c_inst[rows], c_typ[rows]
    # First occurrence of each type per instance, kept in order.
    key = inst * t + typ
    _, first = np.unique(key, return_index=True)
    first.sort()
    inst, typ = inst[first], typ[first]
    n = inst.size
    starts = np.r_[0, np.flatnonzero(inst[1:] != inst[:-1]) + 1] if n else np.zeros(0, dtype=np.int64)
    ends_ = np.r_[starts[1:], n] if n else starts
    after = np.repeat(ends_, ends_ - starts) - np.arange(n) - 1
    total = int(after.sum())
    i = np.repeat(np.arange(n, dtype=np.int64), after)
    j = i + 1 + (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(after) - after, after))
    w = wf[inst]
    before = np.bincount((w[i] * t + typ[i]) * t + typ[j], minlength=n_wf * t * t).reshape(n_wf, t, t)
    present = np.bincount(w * t + typ, minlength=n_wf * t).reshape(n_wf, t)
    ends = np.bincount((w * t + typ) * t + last_type[inst], minlength=n_wf * t * t).reshape(n_wf, t, t)
    return Structure(before.astype(np.int64), present.astype(np.int64), ends.astype(np.int64))
