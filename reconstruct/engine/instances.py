"""From stitched, ordered events to instances: per-instance facts, workflow
assignment, labels, directly-follows edges and variants (numpy throughout).

Workflow of an instance: the cluster of co-occurring event types most of its
types belong to (``reconstruct.engine.workflows``), named after the declared
workflow claiming that cluster or after the type that starts most of the
cluster's instances. Incremental updates use the stored model's clusters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from choreo.core.config import ChoreoConfig
from choreo.reconstruct.engine.frame import Frame, arrow_u64, mix
from choreo.reconstruct.engine.keys import label_priority
from choreo.reconstruct.engine.order import Constraints, causal_order, partition_chain
from choreo.reconstruct.engine.precedence import Precedence, learn_precedence
from choreo.reconstruct.engine.stored_order import StoredOrder
from choreo.reconstruct.engine.values import Values
from choreo.reconstruct.engine.workflows import Clusters, clusters, name_clusters, start_sample
from choreo.reconstruct.query.records import KeyStat

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
_PATH_PRIME = np.uint64(1_000_003)


@dataclass
class Built:
    # member events (originals and duplicates in instances), sorted by (instance, seq)
    m_eid: I64
    m_inst: I64
    m_seq: I64
    m_adj: I64
    m_skew: I64
    m_parent_seq: I64  # -1: none
    m_dup_seq: I64  # -1: not a duplicate
    # originals only, same order
    c_eid: I64
    c_inst: I64
    c_adj: I64
    # per instance
    k: int
    first: I64  # eid of its first event
    last: I64  # eid of its last original event
    start_ms: I64
    end_ms: I64
    n_events: I64
    n_dup: I64
    n_skewed: I64
    presence: npt.NDArray[np.bool_]  # k x n_types
    path_hash: U64
    instance_id: pa.Array
    wf: I64
    workflows: list[str]
    label: pa.Array
    variant: I64
    # edges between consecutive originals
    e_inst: I64
    e_src: I64
    e_dst: I64
    e_lat: I64
    variants: list[tuple[str, int, list[str], int, float]]  # workflow, rank, path, count, share
    precedence: Precedence | None = None  # learned links and clock offsets (per cluster = workflow)
    last_repeats: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # events of its last type


def _declared_starts(f: Frame, cfg: ChoreoConfig) -> frozenset[int]:
    code = {t: i for i, t in enumerate(f.types)}
    return frozenset(code[t] for w in cfg.workflows.values() for t in w.start if t in code)


def build(
    f: Frame,
    comp: I64,
    parent: I64,
    cfg: ChoreoConfig,
    stats: list[KeyStat],
    known: KnownWorkflows | None = None,
    *,
    values: Values,
    reads: dict[str, set[str]] | None = None,
    phase_of: Callable[[I64], I64] | None = None,
) -> Built:
    """Order, aggregate and name the instances of the frame.

    ``known`` (incremental updates): workflows as the stored model has them,
    instead of learning them from this (partial) frame. ``reads``: the
    topics each service is known to consume (declared or seen in the
    cluster's consumer groups), where known. ``phase_of``: event ids ->
    lifecycle rank (``lifecycle.phases``), for a type's events stamped at
    the same instant.
    """
    members = np.nonzero(comp >= 0)[0]
    every = members.size == f.n

    def eids(positions: I64) -> I64:
        return positions if every else members[positions]

    if every:
        # Usual: every event is in an instance, so positions are event ids (no copies).
        comp_m, par_m, dup_m, ts, svc = comp, parent, f.dup_of, f.ts, f.svc
    else:
        pos = np.full(f.n, -1, dtype=np.int64)
        pos[members] = np.arange(members.size, dtype=np.int64)
        par = parent[members]
        par_m = np.where(par >= 0, pos[np.maximum(par, 0)], -1)
        dup = f.dup_of[members]
        dup_m = np.where(dup >= 0, pos[np.maximum(dup, 0)], -1)
        comp_m, ts, svc = comp[members], f.ts[members], f.svc[members]
    is_dup = dup_m >= 0
    k = int(comp_m.max()) + 1 if comp_m.size else 0
    n_types = len(f.types)
    presence = np.zeros((k, n_types), dtype=bool)
    orig_pos = np.flatnonzero(~is_dup)
    # (one flat index: several times cheaper than a two-dimensional assignment)
    presence.reshape(-1)[comp_m[orig_pos] * n_types + f.typ[eids(orig_pos)]] = True
    if known is None:
        cl = clusters(presence, f.types, cfg, _first_types(comp_m, orig_pos, ts, f.typ[eids(orig_pos)], k))
    else:
        cl = known.clusters(presence, f.types)
    tp = _tp_codes(f) if every else _tp_codes(f)[members]
    off_m = f.offset if every else f.offset[members]
    typ_m = f.typ if every else f.typ[members]
    prev = partition_chain(comp_m, tp, off_m, ~is_dup)
    if known is None:
        prec = learn_precedence(
            comp_m,
            cl.cluster,
            typ_m,
            svc,
            ts,
            tp,
            off_m,
            par_m,
            prev,
            ~is_dup,
            n_types=n_types,
            services=f.services,
            cap_ms=int(cfg.reconstruct.max_clock_offset * 1000),
            topic=f.topic if every else f.topic[members],
            reads=_reads(f, reads or {}),
            starts=_declared_starts(f, cfg),
        )
    else:
        prec = known.order.precedence(
            comp_m,
            cl.cluster,
            typ_m,
            par_m,
            ~is_dup,
            workflows=cl.named,
            types=f.types,
            services=f.services,
            ts=ts,
        )
    constraints = Constraints(parent=par_m, prev=prev, learned=prec.learned, clock=prec.clock[svc])
    o = causal_order(
        comp_m,
        ts,
        svc,
        dup_m,
        tp,
        constraints,
        kind=typ_m,
        phase_of=None if phase_of is None else (lambda pos: phase_of(eids(pos))),
    )
    # Ordering's inputs are not needed after it (the learned parents alone are
    # 32 bytes an event): freed before the members' columns are gathered.
    del constraints, prev, tp
    prec.learned = np.zeros((prec.learned.shape[0], 0), dtype=np.int64)
    srt = o.order
    at = o.parent[srt]
    m_parent_seq = np.where(at >= 0, o.seq[np.maximum(at, 0)], -1)
    o.parent = np.zeros(0, dtype=np.int64)
    at = dup_m[srt]
    m_dup_seq = np.where(at >= 0, o.seq[np.maximum(at, 0)], -1)
    del at
    m_seq = o.seq[srt]
    o.seq = np.zeros(0, dtype=np.int64)
    cs = srt[~is_dup[srt]]
    c_inst = comp_m[cs]
    starts = np.r_[0, np.nonzero(np.diff(c_inst))[0] + 1] if cs.size else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], cs.size] if cs.size else np.zeros(0, dtype=np.int64)
    first_m, last_m = cs[starts], cs[ends - 1] if cs.size else cs[:0]
    m_skew = o.skew[srt]
    n_skewed = np.add.reduceat((o.skew[cs] != 0).astype(np.int64), starts) if cs.size else starts
    o.skew = np.zeros(0, dtype=np.int64)
    c_eid = eids(cs)
    c_typ = f.typ[c_eid]
    # Path hash: the sequence of event types of its originals.
    in_group = np.arange(cs.size, dtype=np.int64) - np.repeat(starts, ends - starts)
    with np.errstate(over="ignore"):
        term = (c_typ.astype(np.uint64) + np.uint64(1)) * np.power(_PATH_PRIME, in_group.astype(np.uint64))
    del in_group
    path_hash = np.add.reduceat(term, starts) if cs.size else np.zeros(0, dtype=np.uint64)
    del term
    same = c_inst[1:] == c_inst[:-1]
    a, b = cs[:-1][same], cs[1:][same]
    del same
    topic, partition, offset = f.coordinates(eids(first_m))
    instance_id = pc.binary_join_element_wise(
        topic.dictionary_decode(), pc.cast(partition, pa.string()), pc.cast(offset, pa.string()), ":"
    )
    first_eid, last_eid = eids(first_m), eids(last_m)
    wf, workflows = name_clusters(cl, f.typ[first_eid], f.types)
    label = _labels(f, values, comp, first_eid, k, instance_id, stats)
    variant, variants = _variants(f, wf, workflows, path_hash, starts, ends, c_typ)
    return Built(
        m_eid=eids(srt),
        m_inst=comp_m[srt],
        m_seq=m_seq,
        m_adj=o.adj[srt],
        m_skew=m_skew,
        m_parent_seq=m_parent_seq,
        m_dup_seq=m_dup_seq,
        c_eid=c_eid,
        c_inst=c_inst,
        c_adj=o.adj[cs],
        k=k,
        first=first_eid,
        last=last_eid,
        start_ms=o.adj[first_m],
        end_ms=o.adj[last_m],
        n_events=ends - starts,
        n_dup=np.bincount(comp_m[is_dup], minlength=k).astype(np.int64),
        n_skewed=n_skewed,
        presence=presence,
        path_hash=path_hash,
        instance_id=instance_id,
        wf=wf,
        workflows=workflows,
        label=label,
        variant=variant,
        e_inst=comp_m[b],
        e_src=f.typ[eids(a)],
        e_dst=f.typ[eids(b)],
        e_lat=o.adj[b] - o.adj[a],
        variants=variants,
        precedence=prec,
        last_repeats=_last_repeats(c_inst, c_typ, starts, ends),
    )


def _reads(f: Frame, reads: dict[str, set[str]]) -> dict[int, set[int]]:
    """Service code -> the codes of the topics it consumes (services whose topics are known)."""
    code = {t: i for i, t in enumerate(f.topics)}
    return {
        sv: {code[t] for t in reads[name] if t in code} for sv, name in enumerate(f.services) if name in reads
    }


def _last_repeats(c_inst: I64, c_typ: I64, starts: I64, ends: I64) -> I64:
    """Per instance, how many of its originals have its last event's type."""
    if c_typ.size == 0:
        return np.zeros(0, dtype=np.int64)
    last = np.repeat(c_typ[ends - 1], ends - starts)
    return np.add.reduceat((c_typ == last).astype(np.int64), starts)


def _tp_codes(f: Frame) -> I64:
    """A code per (topic, partition) of every event, ordered by topic name then partition."""
    width = int(f.partition.max()) + 1 if f.n else 1
    return f.topic.astype(np.int64) * max(width, 1) + f.partition.astype(np.int64)


@dataclass
class KnownWorkflows:
    """The stored model's view (incremental updates): the workflow each type
    most often belongs to, and the clock offsets and precedence events are
    ordered by. New instances go to the workflow most of their types belong
    to, as a rebuild would put them."""

    by_member: dict[str, str]
    order: StoredOrder = field(default_factory=StoredOrder)

    def clusters(self, presence: npt.NDArray[np.bool_], types: list[str]) -> Clusters:
        names = sorted(set(self.by_member.values()))
        index = {w: i for i, w in enumerate(names)}
        of_type = np.array([index.get(self.by_member.get(t, ""), -1) for t in types], dtype=np.int64)
        unknown = [i for i, t in enumerate(types) if t not in self.by_member]
        # A type the model has not seen: its own workflow, named after it.
        for i in unknown:
            of_type[i] = len(names)
            names.append(types[i])
        n = len(names)
        rows, cols = np.nonzero(presence)
        votes = np.bincount(rows * n + of_type[cols], minlength=presence.shape[0] * n).reshape(-1, n)
        return Clusters(np.argmax(votes, axis=1).astype(np.int64), of_type, list(names))


def _labels(
    f: Frame, v: Values, comp: I64, first: I64, k: int, instance_id: pa.Array, stats: list[KeyStat]
) -> pa.Array:
    """'name=value' of the best identifier its first event carries (business ids first)."""
    # The statistics describe the whole log (live updates: a scoped frame
    # holds only the names its events carry).
    code = {name: i for i, name in enumerate(v.names)}
    prio = np.full(len(v.names), 1 << 40, dtype=np.int64)
    ranked = sorted(
        (s for s in stats if s.used_for_stitching), key=lambda s: label_priority(s.name, s.events)
    )
    for rank, s in enumerate(ranked):
        if s.name in code:
            prio[code[s.name]] = rank
    is_first = np.zeros(f.n, dtype=bool)
    is_first[first] = True
    rows = np.flatnonzero(is_first[f.id_eid])  # (the first events' rows only: a fraction of all)
    del is_first
    row_prio = prio[v.code[rows]]
    ranked_rows = row_prio < (1 << 40)
    rows, row_prio = rows[ranked_rows], row_prio[ranked_rows]
    inst = comp[f.id_eid[rows]]
    best = _first_per_group(inst, row_prio, rows)
    if best.size == 0:
        return instance_id
    text = pc.binary_join_element_wise(
        pa.array(f.names, pa.string()).take(pa.array(f.id_name[best])),
        f.id_value.take(pa.array(best)).combine_chunks(),
        "=",
    )
    label = np.full(k, -1, dtype=np.int64)
    label[comp[f.id_eid[best]]] = np.arange(best.size)
    idx = pa.array(label, mask=label < 0)
    return pc.coalesce(text.take(idx), instance_id)


def _first_types(comp: I64, rows: I64, ts: I64, typ: I64, k: int) -> I64:
    """The type of the earliest event (by its own timestamp; ties: position)
    of each instance of ``start_sample(k)``, -1 for the others. ``typ``: the
    type of each of ``rows``."""
    first = np.full(k, -1, dtype=np.int64)
    want = np.zeros(k, dtype=bool)
    want[start_sample(k)] = True
    sel = np.flatnonzero(want[comp[rows]])
    if sel.size == 0:
        return first
    r = rows[sel]
    t = ts[r]
    head = _first_per_group(comp[r], t - t.min(), np.arange(sel.size, dtype=np.int64))
    first[comp[r[head]]] = typ[sel[head]]
    return first


def _first_per_group(group: I64, rank: I64, rows: I64) -> I64:
    """Per group, in group order, its row with the lowest (rank, row);
    ``rows`` distinct and not negative, ``group`` and ``rank`` not negative."""
    if rows.size == 0:
        return rows
    bg, br, bw = (max(1, int(a.max()).bit_length()) for a in (group, rank, rows))
    if bg + br + bw <= 63:
        # One packed sort of (group, rank, row): several times cheaper than a lexsort.
        key = group.astype(np.uint64) << np.uint64(br + bw)
        key |= rank.astype(np.uint64) << np.uint64(bw)
        key |= rows.astype(np.uint64)
        key.sort()
        g = key >> np.uint64(br + bw)
        head = np.r_[True, g[1:] != g[:-1]]
        return (key[head] & np.uint64((1 << bw) - 1)).astype(np.int64)
    srt = np.lexsort((rows, rank, group))
    g_sorted = group[srt]
    return rows[srt][np.r_[True, g_sorted[1:] != g_sorted[:-1]]]


def _variants(
    f: Frame, wf: I64, workflows: list[str], path_hash: U64, starts: I64, ends: I64, c_typ: I64
) -> tuple[I64, list[tuple[str, int, list[str], int, float]]]:
    k = wf.size
    if k == 0:
        return np.zeros(0, dtype=np.int64), []
    key = mix(path_hash, wf.astype(np.uint64))
    vid = pc.dictionary_encode(arrow_u64(key)).indices.to_numpy().astype(np.int64)
    n_var = int(vid.max()) + 1
    counts = np.bincount(vid, minlength=n_var)
    rep = np.full(n_var, -1, dtype=np.int64)
    rep[vid[::-1]] = np.arange(k - 1, -1, -1, dtype=np.int64)  # first instance of each variant
    v_wf = wf[rep]
    order = np.lexsort((path_hash[rep], -counts, v_wf))
    rank = np.empty(n_var, dtype=np.int64)
    out: list[tuple[str, int, list[str], int, float]] = []
    per_wf = np.bincount(wf, minlength=len(workflows))
    r = 0
    prev = -1
    for v in order:
        w = int(v_wf[v])
        r = r + 1 if w == prev else 1
        prev = w
        rank[v] = r
        i = int(rep[v])
        path = [f.types[t] for t in c_typ[starts[i] : ends[i]]]
        out.append((workflows[w], r, path, int(counts[v]), float(counts[v]) / float(per_wf[w])))
    return rank[vid], out
