"""Union-find over identifier values and causation links, vectorised.

Every original (non-duplicate) event is a node and so is every identifier
value used for stitching (namespaced as described in ``reconstruct.keys``);
an event is linked to each value it carries and to the event its causation
id names. Connected components (scipy's C implementation) are the
instances. An event with no stitching identifier and no causation link
belongs to no instance. Values are numbered with pyarrow's hash kernel, not
by sorting.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from choreo.reconstruct.engine.frame import Frame, arrow_u64, mix, np_chunks
from choreo.reconstruct.engine.keys import normalise_name
from choreo.reconstruct.engine.lookup import index_in
from choreo.reconstruct.query.records import KeyStat

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def _name_hash(text: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little"))


def parents(f: Frame, con: duckdb.DuckDBPyConnection | None = None) -> I64:
    """The original event each original names as its cause (-1: none known).

    ``con``: a connection for the lookup join (its own, when run in a thread).
    """
    out = np.full(f.n, -1, dtype=np.int64)
    orig = ~f.is_dup
    src = np.nonzero(orig & f.has_eid)[0]
    q = np.nonzero(orig & f.has_cau)[0]
    idx = index_in(con, f.cau_h[q], f.eid_h[src])
    hit = idx >= 0
    out[q[hit]] = src[idx[hit]]
    return out


def link_keys(f: Frame, stats: list[KeyStat]) -> tuple[I64, U64]:
    """(event, namespaced value) for every stitching identifier of an original event."""
    used = np.zeros(len(f.names), dtype=bool)
    by_name = {s.name: s for s in stats}
    for code, nm in enumerate(f.names):
        s = by_name.get(nm)
        used[code] = bool(s and s.used_for_stitching)
    rows = used[f.id_name] & ~f.is_dup[f.id_eid]
    eid, name, link = f.id_eid[rows], f.id_name[rows], f.id_vh[rows]
    # Only numeric values are namespaced (the link of a text value is its hash).
    k = np.flatnonzero(f.id_num[rows])
    if k.size:
        norm = np.array([_name_hash(normalise_name(n)) for n in f.names], dtype=np.uint64)
        vh, ns = link[k], norm[name[k]]
        if "key" in f.names:
            ns = _key_namespaces(f, eid[k], name[k], vh, ns, norm)
        link[k] = mix(vh, ns)
    return _distinct_within_events(eid, link)


def _distinct_within_events(eid: I64, link: U64, window: int = 3) -> tuple[I64, U64]:
    """Drop a row repeating an earlier row of its event (the record key is
    usually also a payload field): the same edge twice. An event's rows are
    adjacent, so comparing with the few rows before finds nearly all of them;
    a repeat it misses only costs an edge."""
    keep = np.ones(eid.size, dtype=bool)
    for j in range(1, min(window, eid.size - 1) + 1):
        keep[j:] &= (eid[j:] != eid[:-j]) | (link[j:] != link[:-j])
    return eid[keep], link[keep]


def _key_namespaces(f: Frame, eid: I64, name: I64, vh: U64, ns: U64, norm: U64) -> U64:
    """A numeric record key takes the namespace of the name it usually equals on its topic.

    The rows are the numeric identifier rows only.
    """
    key_code = f.names.index("key")
    is_key = name == key_code
    k = np.nonzero(is_key)[0]
    if k.size == 0:
        return ns
    o = np.nonzero(~is_key)[0]
    probe = mix(eid[k].astype(np.uint64), vh[k])
    pos = index_in(None, probe, mix(eid[o].astype(np.uint64), vh[o]))
    hit = pos >= 0
    n_names = len(f.names)
    topic = f.topic[eid[k]]
    votes = np.bincount(topic[hit] * n_names + name[o[pos[hit]]], minlength=len(f.topics) * n_names)
    votes = votes.reshape(len(f.topics), n_names)
    alias = np.where(votes.max(axis=1) > 0, votes.argmax(axis=1), -1)
    chosen = alias[topic]
    out = ns.copy()
    out[k] = np.where(chosen >= 0, norm[np.maximum(chosen, 0)], ns[k])
    return out


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
