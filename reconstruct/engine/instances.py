"""From stitched, ordered events to instances: per-instance facts, workflow
assignment, labels, directly-follows edges and variants (numpy throughout).

Workflow of an instance: a ``choreo.toml`` workflow whose start type (or
first declared step) is its first event type, else one that declares any of
its types; otherwise inferred: its first event type, when that type is a
start type (first in most instances containing it); an instance whose first
event is not a start type (its beginning was not collected) joins the
workflow that most instances containing that type belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from choreo.core.config import ChoreoConfig
from choreo.reconstruct.engine.frame import Frame, arrow_u64, mix
from choreo.reconstruct.engine.keys import label_priority
from choreo.reconstruct.engine.order import causal_order
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


def build(
    f: Frame,
    comp: I64,
    parent: I64,
    cfg: ChoreoConfig,
    stats: list[KeyStat],
    known: KnownWorkflows | None = None,
) -> Built:
    """Order, aggregate and name the instances of the frame.

    ``known`` (incremental updates): workflows as the stored model has them,
    instead of learning them from this (partial) frame.
    """
    members = np.nonzero(comp >= 0)[0]
    every = members.size == f.n

    def eids(positions: I64) -> I64:
        return positions if every else members[positions]

    if every:
        # Usual: every event is in an instance, so positions are event ids (no copies).
        comp_m, par_m, dup_m, ts, svc, tie = comp, parent, f.dup_of, f.ts, f.svc, f.h
    else:
        pos = np.full(f.n, -1, dtype=np.int64)
        pos[members] = np.arange(members.size, dtype=np.int64)
        par = parent[members]
        par_m = np.where(par >= 0, pos[np.maximum(par, 0)], -1)
        dup = f.dup_of[members]
        dup_m = np.where(dup >= 0, pos[np.maximum(dup, 0)], -1)
        comp_m, ts, svc, tie = comp[members], f.ts[members], f.svc[members], f.h[members]
    o = causal_order(comp_m, ts, svc, par_m, dup_m, tie)
    srt = o.order
    is_dup = dup_m >= 0
    parent_seq = np.where(o.parent >= 0, o.seq[np.maximum(o.parent, 0)], -1)
    dup_seq = np.where(is_dup, o.seq[np.maximum(dup_m, 0)], -1)
    cs = srt[~is_dup[srt]]
    c_inst = comp_m[cs]
    k = int(c_inst[-1]) + 1 if cs.size else 0
    starts = np.r_[0, np.nonzero(np.diff(c_inst))[0] + 1] if cs.size else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], cs.size] if cs.size else np.zeros(0, dtype=np.int64)
    first_m, last_m = cs[starts], cs[ends - 1] if cs.size else cs[:0]
    c_eid = eids(cs)
    c_typ = f.typ[c_eid]
    n_types = len(f.types)
    presence = np.zeros((k, n_types), dtype=bool)
    presence[c_inst, c_typ] = True
    # Path hash: the sequence of event types of its originals.
    in_group = np.arange(cs.size, dtype=np.int64) - np.repeat(starts, ends - starts)
    with np.errstate(over="ignore"):
        term = (c_typ.astype(np.uint64) + np.uint64(1)) * np.power(_PATH_PRIME, in_group.astype(np.uint64))
    path_hash = np.add.reduceat(term, starts) if cs.size else np.zeros(0, dtype=np.uint64)
    same = c_inst[1:] == c_inst[:-1]
    a, b = cs[:-1][same], cs[1:][same]
    topic, partition, offset = f.coordinates(eids(first_m))
    instance_id = pc.binary_join_element_wise(
        topic.dictionary_decode(), pc.cast(partition, pa.string()), pc.cast(offset, pa.string()), ":"
    )
    first_eid, last_eid = eids(first_m), eids(last_m)
    if known is None:
        wf, workflows = assign_workflows(f, presence, f.typ[first_eid], cfg)
    else:
        wf, workflows = known.assign(f, presence, f.typ[first_eid], cfg)
    label = _labels(f, comp, first_eid, k, instance_id, stats)
    variant, variants = _variants(f, wf, workflows, path_hash, starts, ends, c_typ)
    return Built(
        m_eid=eids(srt),
        m_inst=comp_m[srt],
        m_seq=o.seq[srt],
        m_adj=o.adj[srt],
        m_skew=o.skew[srt],
        m_parent_seq=parent_seq[srt],
        m_dup_seq=dup_seq[srt],
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
        n_skewed=np.add.reduceat((o.skew[cs] != 0).astype(np.int64), starts) if cs.size else starts,
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
    )


@dataclass
class KnownWorkflows:
    """The stored model's view: which workflow a start type begins, and
    which workflow a type most often belongs to."""

    by_start: dict[str, str]
    by_member: dict[str, str]

    def assign(
        self, f: Frame, presence: npt.NDArray[np.bool_], first_type: I64, cfg: ChoreoConfig
    ) -> tuple[I64, list[str]]:
        k = presence.shape[0]
        names: list[str] = []
        index: dict[str, int] = {}
        wf = np.full(k, -1, dtype=np.int64)
        declared, _ = _declared_codes(f, presence, first_type, cfg)
        for i in range(k):
            if declared[i] >= 0:
                name = list(cfg.workflows)[declared[i]]
            else:
                t = f.types[int(first_type[i])]
                name = self.by_start.get(t) or self.by_member.get(t) or t
            wf[i] = index.setdefault(name, len(index))
            if len(names) < len(index):
                names.append(name)
        return wf, names


def _declared_codes(
    f: Frame, presence: npt.NDArray[np.bool_], first_type: I64, cfg: ChoreoConfig
) -> tuple[I64, int]:
    """Index of the declared workflow each instance belongs to (-1: none)."""
    k = presence.shape[0]
    code = {t: i for i, t in enumerate(f.types)}
    wf = np.full(k, -1, dtype=np.int64)
    for i, (_name, w) in enumerate(cfg.workflows.items()):
        starts = [code[t] for t in (w.start or w.steps[:1]) if t in code]
        if starts:
            wf[(wf < 0) & np.isin(first_type, starts)] = i
    for i, (_name, w) in enumerate(cfg.workflows.items()):
        declared_types = set(w.start + w.steps + w.terminal + w.failure + w.compensation)
        members = [code[t] for t in declared_types if t in code]
        if members:
            wf[(wf < 0) & presence[:, members].any(axis=1)] = i
    return wf, len(cfg.workflows)


def assign_workflows(
    f: Frame, presence: npt.NDArray[np.bool_], first_type: I64, cfg: ChoreoConfig
) -> tuple[I64, list[str]]:
    k, n_types = presence.shape
    if k == 0:
        return np.zeros(0, dtype=np.int64), []
    wf, _ = _declared_codes(f, presence, first_type, cfg)
    declared = list(cfg.workflows)
    present = presence.sum(axis=0)
    firsts = np.bincount(first_type, minlength=n_types)
    share = np.where(present > 0, firsts / np.maximum(present, 1), 0.0)
    is_start = share >= 0.5
    from_start = is_start[first_type]
    # counts[t, s]: instances that contain t and start with start type s.
    rows, cols = np.nonzero(presence[from_start])
    starts_of = first_type[from_start][rows]
    counts = np.bincount(cols * n_types + starts_of, minlength=n_types * n_types).reshape(n_types, n_types)
    dominant = np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), np.arange(n_types))
    inferred = np.where(is_start[first_type], first_type, dominant[first_type])
    free = wf < 0
    wf[free] = len(declared) + inferred[free]
    names = declared + list(f.types)
    used = np.unique(wf)
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return remap[wf], [names[i] for i in used]


def _labels(f: Frame, comp: I64, first: I64, k: int, instance_id: pa.Array, stats: list[KeyStat]) -> pa.Array:
    """'name=value' of the best identifier its first event carries (business ids first)."""
    by_name = {s.name: s for s in stats if s.used_for_stitching}
    prio = np.full(len(f.names), 1 << 40, dtype=np.int64)
    ranked = sorted(by_name.values(), key=lambda s: label_priority(s.name, s.events))
    for rank, s in enumerate(ranked):
        prio[f.names.index(s.name)] = rank
    is_first = np.zeros(f.n, dtype=bool)
    is_first[first] = True
    rows = np.nonzero(is_first[f.id_eid] & (prio[f.id_name] < (1 << 40)))[0]
    inst = comp[f.id_eid[rows]]
    order = rows[np.lexsort((rows, prio[f.id_name[rows]], inst))]
    inst_sorted = comp[f.id_eid[order]]
    best = order[np.r_[True, inst_sorted[1:] != inst_sorted[:-1]]] if order.size else order
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
