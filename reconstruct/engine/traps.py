"""How many instances a value would merge: the trap rule.

A value that identifies one instance (an order id) may be carried by many
events of one type (loops, retries, lifecycle start/complete): that is
normal. A value that is an attribute shared by instances (a customer id, a
tenant, a trace id a batch job reuses) joins several instances, and each of
them already hangs together by its own identifiers.

So, for a sample of each name's values: take the value's events (its
earliest 64), group them by the *other* identifiers they carry (events
sharing any other value, transitively, within that set), and look at the
events of the value's first type (the type it starts with): in how many
separate groups do they fall? Only events whose other identifiers tie
them to some other event count (a lone per-event id proves nothing). An
order id's first event starts one instance: one group. A customer id's
first type (OrderCreated) falls in as many groups as the customer has
orders: that value would merge that many instances.

A name is a trap when at least ``trap_share`` of its checked values (and at
least two, or the one checked) would merge several
instances. Of a name that is not, the checked values that would are left
out of stitching one by one. The other names are regrouped
without the traps found, until nothing changes (a tenant id hides a
customer id's orders in one group until the tenant is known to be a trap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from choreo.reconstruct.engine.frame import Frame, arrow_u64, mix, np_chunks, np_view

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

_SAMPLE_VALUES = 2_000  # values checked per name
_FIRST_EVENTS = 64  # a value's earliest events looked at
_ROUNDS = 5
_SPANS = 1.5  # distinct values of X per value of Y, on average, from which Y spans X


@dataclass(frozen=True)
class Merging:
    checked: int  # values whose first events could be grouped
    merging: int  # of them, values whose first events fall in several groups
    mean_instances: float  # groups per checked value, on average

    @property
    def share(self) -> float:
        return self.merging / self.checked if self.checked else 0.0


def merging(
    f: Frame,
    code: npt.NDArray[np.integer],
    link: U64,
    keep: npt.NDArray[np.bool_],
    distinct: dict[int, int],
    n_codes: int,
    *,
    share: float,
    forced: dict[int, bool],
) -> tuple[dict[int, Merging], set[int], dict[int, U64]]:
    """Per link name code: how its sampled values merge; the trap codes; and,
    of the other names (unless config decides them), the checked values that
    would merge several instances (a customer id that repeats too rarely for
    its name to be a trap still must not join its two orders).

    ``code`` and ``link`` are the identifier rows' name codes and values;
    ``keep`` marks the rows of original events, ``distinct`` the distinct
    values per code, ``forced`` the names config decides.
    """
    mod = np.ones(n_codes, dtype=np.uint64)
    for c, d in distinct.items():
        mod[c] = max(1, d // _SAMPLE_VALUES)
    rows = np.flatnonzero(keep & ((link % mod[code]) == 0))
    if rows.size == 0:
        return {}, {c for c, used in forced.items() if not used}, {}
    s_code, s_link, s_eid = code[rows].astype(np.int64), link[rows], f.id_eid[rows]
    vid = _dense(mix(s_link, s_code.astype(np.uint64)))
    # The earliest events of each value (ties: Kafka position).
    order = np.lexsort((f.offset[s_eid], f.partition[s_eid], f.ts[s_eid], vid))
    vid_o = vid[order]
    starts = np.r_[0, np.flatnonzero(vid_o[1:] != vid_o[:-1]) + 1]
    rank = np.arange(vid_o.size) - np.repeat(starts, np.diff(np.r_[starts, vid_o.size]))
    order = order[rank < _FIRST_EVENTS]
    vid, s_code, s_link, s_eid = vid[order], s_code[order], s_link[order], s_eid[order]
    n_vals = int(vid.max()) + 1
    first_row = np.full(n_vals, -1, dtype=np.int64)
    first_row[vid[::-1]] = np.arange(vid.size - 1, -1, -1)  # rows are in time order per value
    first_type = f.typ[s_eid[first_row]]
    v_code, v_link = s_code[first_row], s_link[first_row]
    other = _other_rows(f, code, link, keep, s_eid)
    # Other rows of each sampled (value, event): sid -> rows of that event.
    o_sid, o_code, o_link, o_shared = _expand(s_eid, other)
    mask = (o_link != v_link[vid[o_sid]]) & (o_code != v_code[vid[o_sid]])
    o_sid, o_code, o_link, o_shared = o_sid[mask], o_code[mask], o_link[mask], o_shared[mask]
    is_first = f.typ[s_eid] == first_type[vid]
    # A name whose values each span several values of X cannot tell X's
    # instances apart (a tenant would group a customer's orders): a name
    # groups X's events when its values do not span X's, or span fewer of
    # them than X's span of its own (a case meets a few employees, an
    # employee many cases: the case groups the employee's events).
    x_of_row = v_code[vid[o_sid]]
    spans = _spans(n_codes, vid, v_code, o_sid, o_code, o_link)
    y_spans_x, x_spans_y = spans[o_code, x_of_row], spans[x_of_row, o_code]
    groups_x = (y_spans_x < _SPANS) | (y_spans_x < x_spans_y)
    traps = {c for c, used in forced.items() if not used}
    stats: dict[int, Merging] = {}
    for _ in range(_ROUNDS):
        use = groups_x & ~np.isin(o_code, list(traps)) if traps else groups_x.copy()
        groups = _local_groups(vid.size, o_sid[use], mix(o_link[use], vid[o_sid[use]].astype(np.uint64)))
        evidence = np.zeros(vid.size, dtype=bool)
        evidence[o_sid[use & o_shared]] = True
        counted = is_first & evidence
        pairs = _one_of_each(mix(groups[counted].astype(np.uint64), vid[counted].astype(np.uint64)))
        per_value = np.bincount(vid[counted][pairs], minlength=n_vals)
        checked = per_value >= 1
        stats = {}
        for c in np.unique(v_code):
            sel = (v_code == c) & checked
            n = int(sel.sum())
            stats[int(c)] = Merging(
                n, int((per_value[sel] >= 2).sum()), float(per_value[sel].mean()) if n else 0.0
            )
        found = {c for c, m in stats.items() if forced.get(c) is None and m.merging and m.share >= share}
        if found <= traps:
            break
        traps |= found
    split: dict[int, U64] = {}
    merges = per_value >= 2
    for c in np.unique(v_code[merges]).tolist():
        if c not in traps and forced.get(int(c)) is None:
            split[int(c)] = np.unique(v_link[merges & (v_code == c)])
    return stats, traps, split


def _spans(
    n_codes: int, vid: I64, v_code: I64, o_sid: I64, o_code: I64, o_link: U64
) -> npt.NDArray[np.float64]:
    """spans[a, b]: how many distinct values of name b one value of name a
    meets on its events, on average (over a's sampled values whose events carry b)."""
    out = np.zeros((n_codes, n_codes), dtype=np.float64)
    if o_sid.size == 0:
        return out
    # Distinct (value, other name, other value) triples, then per (value, other name).
    triple = _one_of_each(mix(mix(o_link, o_code.astype(np.uint64)), vid[o_sid].astype(np.uint64)))
    t_vid, t_code = vid[o_sid[triple]], o_code[triple]
    pair_key = t_vid * n_codes + t_code
    keys, counts = np.unique(pair_key, return_counts=True)
    x = v_code[keys // n_codes]
    y = keys % n_codes
    total = np.zeros((n_codes, n_codes), dtype=np.float64)
    seen = np.zeros((n_codes, n_codes), dtype=np.float64)
    np.add.at(total, (y, x), counts)
    np.add.at(seen, (y, x), 1.0)
    np.divide(total, seen, out=out, where=seen > 0)
    # Accumulated as out[b, a]: transposed.
    return out.T.copy()


def _one_of_each(key: U64) -> I64:
    """The first row of each distinct key, by key: ``np.unique(key,
    return_index=True)[1]``, without its stable sort (several times slower)."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(key)
    srt = key[order]
    starts = np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])
    return np.asarray(np.minimum.reduceat(order, starts), dtype=np.int64)


def _dense(key: U64) -> I64:
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(np_chunks(pc.dictionary_encode(arrow_u64(key)).indices), dtype=np.int64)


def _other_rows(
    f: Frame, code: npt.NDArray[np.integer], link: U64, keep: npt.NDArray[np.bool_], eids: I64
) -> tuple[I64, I64, U64, npt.NDArray[np.bool_]]:
    """Every identifier row of these events (by event, in row order): its
    event, name code and value, and whether the value is carried by another
    event as well (what can tie two events together)."""
    wanted = np.zeros(f.n, dtype=bool)
    wanted[eids] = True
    rows = np.flatnonzero(keep & wanted[f.id_eid])
    rows = rows[np.argsort(f.id_eid[rows], kind="stable")]
    o_eid, o_lv = f.id_eid[rows], link[rows]
    # Of their values, those two events or more carry: min and max event differ.
    kept = np.flatnonzero(keep)
    k_lv = link[kept]
    near = np.flatnonzero(np_view(pc.is_in(arrow_u64(k_lv), value_set=pc.unique(arrow_u64(o_lv)))))
    spread = (
        pa.table({"lv": arrow_u64(k_lv[near]), "eid": f.id_eid[kept[near]]})
        .group_by("lv")
        .aggregate([("eid", "min"), ("eid", "max")])
    )
    shared_lv = spread.filter(pc.not_equal(spread.column("eid_min"), spread.column("eid_max"))).column("lv")
    o_shared = np.asarray(np_view(pc.is_in(arrow_u64(o_lv), value_set=shared_lv)), dtype=np.bool_)
    return o_eid, np.asarray(code[rows], dtype=np.int64), o_lv, o_shared


def _expand(
    s_eid: I64, other: tuple[I64, I64, U64, npt.NDArray[np.bool_]]
) -> tuple[I64, I64, U64, npt.NDArray[np.bool_]]:
    """(sample row, code, value, shared) for every other row of each sample row's event."""
    o_eid, o_code, o_link, o_shared = other
    # The rows come sorted by event: a CSR over events.
    lo = np.searchsorted(o_eid, s_eid, side="left")
    hi = np.searchsorted(o_eid, s_eid, side="right")
    counts = hi - lo
    sid = np.repeat(np.arange(s_eid.size, dtype=np.int64), counts)
    idx = np.repeat(lo, counts) + (
        np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    return sid, o_code[idx], o_link[idx], o_shared[idx]


def _local_groups(n_rows: int, sid: I64, value_key: U64) -> I64:
    """Connected components of sample rows linked through shared (value, other value) nodes."""
    if sid.size == 0:
        return np.arange(n_rows, dtype=np.int64)
    node = _dense(value_key) + n_rows
    size = n_rows + (int(node.max()) - n_rows + 1)
    graph = coo_matrix((np.ones(sid.size, dtype=np.int8), (sid, node)), shape=(size, size)).tocsr()
    _, labels = connected_components(graph, directed=True, connection="weak")
    return np.asarray(labels[:n_rows], dtype=np.int64)
