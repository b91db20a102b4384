"""Union-find over identifier values and causation links, vectorised.

Every original (non-duplicate) event is a node and so is every identifier
value used for stitching (its link value, ``values.py``);
an event is linked to each value it carries and to the event its causation
id names. Connected components (scipy's C implementation) are the
instances. An event with no stitching identifier and no causation link
belongs to no instance. Values are numbered with pyarrow's hash kernel, not
by sorting.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc

from choreo.reconstruct.engine.frame import Frame, arrow_u64, np_chunks, originals
from choreo.reconstruct.engine.lookup import index_in
from choreo.reconstruct.engine.values import Values
from choreo.reconstruct.query.records import KeyStat

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def parents(f: Frame, con: duckdb.DuckDBPyConnection | None = None) -> I64:
    """The original event each original names as its cause (-1: none known).

    ``con``: a connection for the lookup join (its own, when run in a thread).
    """
    out = np.full(f.n, -1, dtype=np.int64)
    # Twins are still candidate events here; records that are not events link nothing.
    orig = (~f.is_dup | f.twin) & f.is_event
    src = np.nonzero(orig & f.has_eid)[0]
    q = np.nonzero(orig & f.has_cau)[0]
    idx = index_in(con, f.cau_h[q], f.eid_h[src])
    hit = idx >= 0
    out[q[hit]] = src[idx[hit]]
    return out


def link_keys(f: Frame, v: Values, stats: list[KeyStat]) -> tuple[I64, U64, I64, U64]:
    """(event, link value) for every stitching identifier of an original
    event, and the same for the records that are not events (they link
    nothing; their values say beside which instance they belong)."""
    by_name = {s.name: s.used_for_stitching for s in stats if s.found_by != "causation"}
    used = np.array([by_name.get(nm, False) for nm in v.names], dtype=bool)
    # Originals among the events; every record that is not an event (a copy of
    # one is listed beside its instance too).
    rows = used[v.code] & (~f.is_dup | ~f.is_event)[f.id_eid]
    eid, link = f.id_eid[rows], v.link[rows]
    event = f.is_event[eid]
    aside = ~event
    e_eid, e_link = _distinct_within_events(eid[event], link[event])
    return e_eid, e_link, eid[aside], link[aside]


def _distinct_within_events(eid: I64, link: U64, window: int = 3) -> tuple[I64, U64]:
    """Drop a row repeating an earlier row of its event (the record key is
    usually also a payload field): the same edge twice. An event's rows are
    adjacent, so comparing with the few rows before finds nearly all of them;
    a repeat it misses only costs an edge."""
    keep = np.ones(eid.size, dtype=bool)
    for j in range(1, min(window, eid.size - 1) + 1):
        keep[j:] &= (eid[j:] != eid[:-j]) | (link[j:] != link[:-j])
    return eid[keep], link[keep]


def components(f: Frame, eid: I64, link: U64, parent: I64) -> tuple[I64, int]:
    """Instance number per event (-1: in no instance; duplicates follow their original)."""
    n = f.n
    child = np.nonzero(parent >= 0)[0]
    # 32-bit node numbers where they fit (scipy's own index type): no 64-bit
    # copies of the tens of millions of edges.
    idx = np.int32 if n + link.size < 2**31 else np.int64
    if link.size:
        vid = np.asarray(np_chunks(pc.dictionary_encode(arrow_u64(link)).indices), dtype=idx)
    else:
        vid = np.zeros(0, dtype=idx)
    n_values = int(vid.max()) + 1 if vid.size else 0
    a = np.empty(eid.size + child.size, dtype=idx)
    a[: eid.size] = eid
    a[eid.size :] = child
    b = np.empty(a.size, dtype=idx)
    np.add(vid, idx(n), out=b[: vid.size])
    b[vid.size :] = parent[child]
    del vid
    linked = np.zeros(n, dtype=bool)
    linked[eid] = True
    linked[child] = True
    linked[parent[child]] = True
    size = n + n_values
    # SciPy only here: commands that only re-judge a store never pay for importing it.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(size, size)).tocsr()
    del a, b
    _, labels = connected_components(graph, directed=True, connection="weak")
    labels = np.asarray(labels[:n], dtype=np.int64)
    out = np.full(n, -1, dtype=np.int64)
    # Dense renumbering of the components that hold linked events, without sorting.
    present = np.zeros(size, dtype=bool)
    present[labels[linked]] = True
    dense = np.cumsum(present) - 1
    out[linked] = dense[labels[linked]]
    n_comp = int(present.sum())
    dups = np.nonzero(f.is_dup)[0]
    out[dups] = out[f.dup_of[dups]]
    return out, n_comp


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


def aside_instances(comp: I64, eid: I64, link: U64, aside_eid: I64, aside_link: U64) -> tuple[I64, I64]:
    """Each record that is not an event but carries a stitching value, and the
    instance number of the events carrying that value (the first it matches)."""
    if aside_eid.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    pos = index_in(None, aside_link, link)
    hit = pos >= 0
    rec, inst = aside_eid[hit], comp[eid[pos[hit]]]
    rec, first = np.unique(rec, return_index=True)
    return rec, inst[first]
