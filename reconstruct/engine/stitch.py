"""Union-find over identifier values and causation links, vectorised.

Every original (non-duplicate) event is a node and so is every identifier
value used for stitching (its link value, ``values.py``);
an event is linked to each value it carries and to the event its causation
id names. Connected components (union-find in the native core) are the
instances. An event with no stitching identifier and no causation link
belongs to no instance. Values are numbered with pyarrow's hash kernel, not
by sorting.
"""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc

from choreo import _native
from choreo.reconstruct.engine.frame import Frame, arrow_u64, mix, np_chunks
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
    by_name = {s.name: s for s in stats if s.found_by not in ("causation", "event id")}
    used = np.array([nm in by_name and by_name[nm].used_for_stitching for nm in v.names], dtype=bool)
    # Originals among the events; every record that is not an event (a copy of
    # one is listed beside its instance too).
    rows = used[v.code] & (~f.is_dup | ~f.is_event)[f.id_eid]
    # A record key left out on the types where it would merge instances.
    type_of = {t: i for i, t in enumerate(f.types)}
    left_out = [
        (c, type_of[t])
        for c, nm in enumerate(v.names)
        if nm in by_name
        for t in by_name[nm].trap_types
        if t in type_of
    ]
    if left_out:
        n_types = len(f.types)
        out = np.zeros(len(v.names) * n_types, dtype=bool)
        out[[c * n_types + t for c, t in left_out]] = True
        rows &= ~out[np.asarray(v.code, dtype=np.int64) * n_types + f.typ[f.id_eid]]
    rows = _without_split_values(v, rows, by_name)
    eid, link = f.id_eid[rows], v.link[rows]
    event = f.is_event[eid]
    aside = ~event
    e_eid, e_link = _distinct_within_events(eid[event], link[event])
    return e_eid, e_link, eid[aside], link[aside]


def _without_split_values(
    v: Values, rows: npt.NDArray[np.bool_], by_name: dict[str, KeyStat]
) -> npt.NDArray[np.bool_]:
    """The rows without the values of stitching names that would merge
    instances (``KeyStat.split_values``): such a value links nothing."""
    split = [
        (c, st.split_values) for c, nm in enumerate(v.names) if (st := by_name.get(nm)) and st.split_values
    ]
    if not split:
        return rows
    of_split = np.zeros(len(v.names), dtype=bool)
    of_split[[c for c, _ in split]] = True
    cand = np.flatnonzero(rows & of_split[v.code])
    out = np.concatenate([mix(np.asarray(vals, dtype=np.uint64), np.uint64(c)) for c, vals in split])
    key = mix(v.link[cand], np.asarray(v.code[cand], dtype=np.uint64))
    rows = rows.copy()
    rows[cand[np.isin(key, out)]] = False
    return rows


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
    """Instance number per event (-1: in no instance; duplicates follow their original).

    Union-find in the native core (``groups.rs``): events and link values are
    nodes, each (event, value) row and causation link an edge; instances are
    numbered in the order of their first event."""
    child = np.flatnonzero(parent >= 0)
    if link.size:
        vid = np.asarray(np_chunks(pc.dictionary_encode(arrow_u64(link)).indices), dtype=np.int32)
    else:
        vid = np.zeros(0, dtype=np.int32)
    out = np.empty(f.n, dtype=np.int64)
    n_comp = _native.components(
        np.ascontiguousarray(eid, dtype=np.int64), vid, child, np.ascontiguousarray(parent[child]), out
    )
    dups = np.flatnonzero(f.is_dup)
    out[dups] = out[f.dup_of[dups]]
    return out, int(n_comp)
