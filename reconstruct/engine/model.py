"""The workflow model, learned per workflow from the ordered instances.

Heavy aggregation (directly-follows counts and latency percentiles) runs in
DuckDB; the decisions on the small aggregates run here and in
``model_kinds`` (start, terminal, failure, compensation: on shares with
support thresholds), ``model_structure`` (which types run in parallel:
both orders of their first events are common, so loops do not count) and
``model_branches`` (fan-out branches expected once their parent happened,
learned from history).

``choreo.toml`` workflows override: declared start/terminal/failure/
compensation lists replace the learned ones, declared steps add
expectations and fix the expected next step, a declared timeout applies.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from choreo.core.config import ChoreoConfig, WorkflowConfig
from choreo.reconstruct.engine.frame import Frame, register
from choreo.reconstruct.engine.instances import Built
from choreo.reconstruct.engine.model_branches import fan_out
from choreo.reconstruct.engine.model_kinds import (
    Edge,
    Expect,
    Followers,
    Node,
    Workflow,
    after_failure_kinds,
    edge_kinds,
    named_kinds,
    next_steps,
    starts,
    structural_failures,
    supported,
    terminals,
)
from choreo.reconstruct.engine.model_structure import structure, with_siblings
from choreo.reconstruct.engine.outages import delayed_rows
from choreo.reconstruct.engine.precedence_pairs import type_counts

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


def _declared(cfg: ChoreoConfig, name: str) -> WorkflowConfig | None:
    return cfg.workflows.get(name)


def learn(
    con: duckdb.DuckDBPyConnection, f: Frame, b: Built, cfg: ChoreoConfig, now_ms: int
) -> dict[str, Workflow]:
    """Learn every workflow's model from the built instances."""
    rc = cfg.reconstruct
    n_types, n_wf = len(f.types), len(b.workflows)
    wfs: dict[str, Workflow] = {}
    inst_per_wf = np.bincount(b.wf, minlength=n_wf)
    for i, name in enumerate(b.workflows):
        wfs[name] = Workflow(name, int(inst_per_wf[i]))
    for name, wf_cfg in cfg.workflows.items():
        wfs.setdefault(name, Workflow(name)).declared = True
        if wf_cfg.timeout is not None:
            wfs[name].timeout_ms = int(wf_cfg.timeout * 1000)
    if rc.default_timeout is not None:
        for w in wfs.values():
            if w.timeout_ms is None:
                w.timeout_ms = int(rc.default_timeout * 1000)

    c_wf = b.wf[b.c_inst]
    c_typ = f.typ[b.c_eid]
    wt = c_wf * n_types + c_typ
    counts = np.bincount(wt, minlength=n_wf * n_types)
    service = _mode_service(f, wt, f.svc[b.c_eid], n_wf * n_types)
    rows, cols = np.nonzero(b.presence)
    present = np.bincount(b.wf[rows] * n_types + cols, minlength=n_wf * n_types)
    first_type = f.typ[b.first]
    firsts = np.bincount(b.wf * n_types + first_type, minlength=n_wf * n_types)
    for code in np.nonzero(counts)[0]:
        wi, t = divmod(int(code), n_types)
        svc = f.services[service[code]] if service[code] >= 0 else None
        wfs[b.workflows[wi]].nodes[f.types[t]] = Node(
            int(counts[code]), svc, first=int(firsts[code]), present=int(present[code])
        )
    e_wf = b.wf[b.e_inst]
    register(con, "_r_edge_src", pa.table({"wf": e_wf, "src": b.e_src, "dst": b.e_dst, "lat": b.e_lat}))
    register(con, "_r_edge_cut", _normal_cutoffs(e_wf, b.e_src, b.e_dst, b.e_lat, _edge_times(b), n_types))
    try:
        # Percentiles of the normal latencies: a service down for hours delays
        # many reactions by hours, which is an outage, not the step's latency.
        edge_rows = con.execute(
            """
            SELECT e.wf, e.src, e.dst, count(*),
                   quantile_cont(e.lat, [0.5, 0.95, 0.99]) FILTER (WHERE e.lat <= coalesce(c.cut, e.lat))
            FROM _r_edge_src e LEFT JOIN _r_edge_cut c USING (wf, src, dst) GROUP BY 1, 2, 3
            """
        ).fetchall()
    finally:
        con.unregister("_r_edge_src")
        con.unregister("_r_edge_cut")
    for w, src, dst, n, q in edge_rows:
        q = q or [None, None, None]
        wfs[b.workflows[w]].edges[(f.types[src], f.types[dst])] = Edge(int(n), q[0], q[1], q[2])

    _repeats(f, b, wfs)
    last_type = f.typ[b.last]
    st = structure(b.c_inst, f.typ[b.c_eid], b.wf, last_type, n_types)
    st = with_siblings(st, b.precedence.causes if b.precedence else {})
    tcode = {t: i for i, t in enumerate(f.types)}
    for wi, name in enumerate(b.workflows):
        w = wfs[name]
        for (x, y), e in w.edges.items():
            e.concurrent = st.concurrent(wi, tcode[x], tcode[y])
        supported(w.nodes, w.edges)
    fol = _followers(f, b, wfs, now_ms)
    for wi, name in enumerate(b.workflows):
        w = wfs[name]
        d = _declared(cfg, name)
        terminals(w.nodes, w.edges, fol[wi], d)
        starts(w.nodes, d)
        if not named_kinds(w.nodes, d):
            structural_failures(w.nodes, w.edges, st, wi, tcode)
        next_steps(w.nodes, w.edges, st, wi, tcode)
    _after_failure(f, b, wfs)
    for name, w in wfs.items():
        d = _declared(cfg, name)
        if d is None or not (d.failure or d.compensation):
            after_failure_kinds(w.nodes)
        edge_kinds(w.nodes, w.edges)
        p99s = [e.p99 for e in w.edges.values() if e.p99 is not None and e.supported]
        w.step_p99_ms = max(p99s) if p99s else None
    _declared_steps(wfs, cfg)
    fan_out(con, f, b, wfs, cfg, st)
    return wfs


def _repeats(f: Frame, b: Built, wfs: dict[str, Workflow], sample: int = 200_000) -> None:
    """Median events of each type per instance holding it (types that never
    repeat in an instance: 1, without counting; the others from a sample)."""
    for w in wfs.values():
        for node in w.nodes.values():
            node.repeats = 1.0
    n_types = len(f.types)
    c_typ = f.typ[b.c_eid]
    if c_typ.size == 0:
        return
    wt_all = b.wf[b.c_inst] * n_types + c_typ
    occurrences = np.bincount(wt_all, minlength=len(b.workflows) * n_types)
    rows, cols = np.nonzero(b.presence)
    holding = np.bincount(b.wf[rows] * n_types + cols, minlength=len(b.workflows) * n_types)
    repeating = occurrences > holding
    if not repeating.any():
        return
    sel = np.flatnonzero(repeating[wt_all])
    if b.k > sample:
        # A sample of instances (all events of each: counts per instance stay whole).
        keep = np.zeros(b.k, dtype=bool)
        keep[np.random.default_rng(3).choice(b.k, sample, replace=False)] = True
        sel = sel[keep[b.c_inst[sel]]]
    key, counts = np.unique(b.c_inst[sel] * n_types + c_typ[sel], return_counts=True)
    inst, typ = np.divmod(key, n_types)
    tc = type_counts(b.wf[inst] * n_types + typ, counts)
    per_type = zip(
        tc.group.tolist(), tc.median.tolist(), tc.fixed().tolist(), tc.paired().tolist(), strict=True
    )
    for k, m, fx, pr in per_type:
        wi, t = divmod(k, n_types)
        found = wfs[b.workflows[wi]].nodes.get(f.types[t])
        if found is not None:
            found.repeats = float(m)
            found.fixed_repeats = bool(fx)
            found.paired = bool(pr)


_CUT_SAMPLE = 200_000
_CUT_MADS = 5.0


def _edge_times(b: Built) -> I64:
    """Each edge's time: its source event's (edges join consecutive events of an instance)."""
    same = b.c_inst[1:] == b.c_inst[:-1]
    return np.asarray(b.c_adj[:-1][same], dtype=np.int64)


def _normal_cutoffs(wf: I64, src: I64, dst: I64, lat: I64, t: I64, n_types: int) -> pa.Table:
    """Per edge, the longest normal latency: within five median absolute deviations
    of the median in log space (a log-normal's 15-fold at its usual spread),
    measured outside the stretches of the log an outage delayed as a whole
    (a third of a step's latencies hours long would set the median and its
    spread: every stall after it would then wait hours to be seen; ``t``:
    each edge's time). From a sample of the edges (an edge absent from it
    keeps every latency)."""
    n = lat.size
    rows = (
        np.arange(n) if n <= _CUT_SAMPLE else np.random.default_rng(2).choice(n, _CUT_SAMPLE, replace=False)
    )
    key = (wf[rows] * n_types + src[rows]) * n_types + dst[rows]
    loglat = np.log(np.maximum(lat[rows], 1).astype(np.float64))
    order = np.lexsort((loglat, key))
    k, v, t_k = key[order], loglat[order], t[rows][order]
    head = np.r_[True, k[1:] != k[:-1]] if k.size else np.zeros(0, dtype=bool)
    kid = np.cumsum(head) - 1  # each edge's code, 0.. (k is sorted)
    uk = k[head]
    # The outage seen on the step itself, or on everything that follows its
    # cause (a rare alternative, a failure, has too few latencies to tell).
    cause_of, cid = np.unique(uk // n_types, return_inverse=True)
    lat_k = np.exp(v)
    late = delayed_rows(kid, uk.size, t_k, lat_k) | delayed_rows(cid[kid], cause_of.size, t_k, lat_k)
    delayed = np.bincount(kid, weights=late, minlength=uk.size) > 0
    # Order kept: still sorted by edge, then latency.
    k_id, v = kid[~late], v[~late]
    starts = np.r_[0, np.flatnonzero(k_id[1:] != k_id[:-1]) + 1] if k_id.size else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[starts, k_id.size])
    med = v[starts + (counts - 1) // 2]
    dev = np.abs(v - np.repeat(med, counts))
    dorder = np.lexsort((dev, np.repeat(np.arange(starts.size), counts)))
    mad = dev[dorder][starts + (counts - 1) // 2]
    uk = uk[k_id[starts]]
    # Too few latencies to tell the usual from the odd: keep them all, less
    # those an outage delayed.
    few = np.where(delayed[k_id[starts]], np.exp(v[starts + counts - 1]), np.inf)
    cut = np.where(counts >= 20, np.exp(med + _CUT_MADS * np.maximum(mad, 0.2)), few)
    w_, rest = np.divmod(uk, n_types * n_types)
    s_, d_ = np.divmod(rest, n_types)
    return pa.table({"wf": w_, "src": s_, "dst": d_, "cut": cut})


def _followers(f: Frame, b: Built, wfs: dict[str, Workflow], now_ms: int) -> list[Followers]:
    """Per workflow: latencies of each type's supported next steps, and how long
    its occurrences followed by none have waited (see ``model_kinds``)."""
    n_types, n_wf = len(f.types), len(b.workflows)
    code = {t: i for i, t in enumerate(f.types)}
    edge_ok = np.zeros(n_wf * n_types * n_types, dtype=bool)
    for wi, name in enumerate(b.workflows):
        w = wfs[name]
        for (x, y), e in w.edges.items():
            if e.supported:
                edge_ok[(wi * n_types + code[x]) * n_types + code[y]] = True
    # Types running in parallel (a fan-out's branches) form a group: what
    # follows an occurrence is what follows its run of the group, so a branch
    # followed by its sibling is not an end, nor one whose group always ends.
    group = np.tile(np.arange(n_types, dtype=np.int64), (n_wf, 1))
    for wi, name in enumerate(b.workflows):
        pairs = [(code[x], code[y]) for (x, y), e in wfs[name].edges.items() if e.concurrent]
        if pairs:
            a_, b_ = np.asarray(pairs, dtype=np.int64).T
            graph = coo_matrix((np.ones(a_.size, dtype=np.int8), (a_, b_)), shape=(n_types, n_types))
            _, labels = connected_components(graph, directed=False)
            group[wi] = labels
    c_typ = f.typ[b.c_eid]
    c_wf = b.wf[b.c_inst]
    n = c_typ.size
    g = group[c_wf, c_typ]
    new_run = np.ones(n, dtype=bool)
    if n > 1:
        new_run[1:] = (b.c_inst[1:] != b.c_inst[:-1]) | (g[1:] != g[:-1])
    run_start = np.flatnonzero(new_run)
    run_end = np.r_[run_start[1:], n] - 1 if n else run_start
    last_of_run = np.repeat(run_end, np.diff(np.r_[run_start, n]))
    nxt = last_of_run + 1
    has_next = nxt < n
    has_next[has_next] = b.c_inst[nxt[has_next]] == b.c_inst[has_next]
    followed = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(has_next)
    src, dst = c_typ[last_of_run[idx]], c_typ[nxt[idx]]
    followed[idx] = edge_ok[(c_wf[idx] * n_types + src) * n_types + dst]
    # A type repeated in an instance (a loop's rounds, a rework) ends it when
    # its last occurrence does: the earlier rounds are followed by the redo.
    last = _last_of_type(b.c_inst, c_typ, n_types)
    followed &= last
    out = [Followers() for _ in range(n_wf)]
    # How long after each followed occurrence what followed it (after its run
    # of parallel types) came, and how long before "now" it happened: a
    # latency longer than that could not have been seen (``seen_weights``).
    key = c_wf * n_types + c_typ
    fl = np.flatnonzero(followed)
    _group(out, key[fl], b.c_adj[nxt[fl]] - b.c_adj[fl], n_types, f.types, kind="latencies")
    _group(out, key[fl], np.maximum(now_ms - b.c_adj[fl], 0), n_types, f.types, kind="windows")
    # Ages of (last) occurrences followed by no supported step.
    un = ~followed & last
    ages = np.maximum(now_ms - b.c_adj[un], 0)
    _group(out, (c_wf * n_types + c_typ)[un], ages, n_types, f.types, kind="ages")
    counts = np.bincount((c_wf * n_types + c_typ)[followed], minlength=n_wf * n_types)
    for code_ in np.flatnonzero(counts):
        wi, t = divmod(int(code_), n_types)
        out[wi].followed[f.types[t]] = int(counts[code_])
    _by_third(out, b.c_adj, c_wf * n_types + c_typ, followed, un, ages, f.types)
    return out


def _by_third(
    out: list[Followers], t: I64, key: I64, followed: BOOL, un: BOOL, ages: I64, types: list[str]
) -> None:
    """Per (workflow, type) and each of the older two thirds of the log's time
    span: occurrences followed there, and the unfollowed ones' ages."""
    if t.size == 0:
        return
    n_types = len(types)
    t0, span = int(t.min()), int(t.max()) - int(t.min()) + 1
    third = np.minimum((t - t0) * 3 // span, 2)
    f_key = key[followed] * 2 + third[followed]
    f_key = f_key[third[followed] < 2]
    f_count = np.bincount(f_key) if f_key.size else np.zeros(0, dtype=np.int64)
    u_third = third[un]
    u_key, u_age = key[un][u_third < 2] * 2 + u_third[u_third < 2], ages[u_third < 2]
    order = np.argsort(u_key, kind="stable")
    u_key, u_age = u_key[order], u_age[order]
    bounds = np.r_[0, np.flatnonzero(u_key[1:] != u_key[:-1]) + 1, u_key.size] if u_key.size else []
    ages_of = {int(u_key[s0]): u_age[s0:e0] for s0, e0 in itertools.pairwise(bounds)}
    for k in set(np.flatnonzero(f_count).tolist()) | set(ages_of):
        code_, part = divmod(k, 2)
        wi, ty = divmod(code_, n_types)
        fc = int(f_count[k]) if k < f_count.size else 0
        out[wi].by_third[(types[ty], part)] = (fc, ages_of.get(k, np.zeros(0, dtype=np.int64)))


def _last_of_type(inst: I64, typ: I64, n_types: int) -> BOOL:
    """Per row (rows grouped by instance, in order): whether it is its
    instance's last event of its type."""
    n = inst.size
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    # A stable sort keeps each (instance, type)'s rows in row order: the last
    # of each run is the one. (``np.maximum.at`` did this ten times slower.)
    key = inst * n_types + typ
    order = np.argsort(key, kind="stable")
    ks = key[order]
    ends = np.empty(n, dtype=bool)
    np.not_equal(ks[1:], ks[:-1], out=ends[:-1])
    ends[-1] = True
    out[order[ends]] = True
    return out


_KEEP = 20_000  # values kept per type (a sample beyond): enough for a distribution


def _group(
    out: list[Followers],
    key: I64,
    val: I64,
    n_types: int,
    types: list[str],
    *,
    kind: Literal["latencies", "windows", "ages"],
) -> None:
    """Per (workflow, type) key, its values sorted (at most ``_KEEP`` of them, a
    random sample of the rest) and, for ages, how many there were."""
    if key.size == 0:
        return
    counts = np.bincount(key)
    if counts.max() > _KEEP:
        keep = np.random.default_rng(4).random(key.size) < _KEEP / counts[key]
        key, val = key[keep], val[keep]
    k, v = _sorted_pairs(key, val)
    starts_ = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
    ends = np.r_[starts_[1:], k.size]
    for s0, e0 in zip(starts_.tolist(), ends.tolist(), strict=True):
        code_ = int(k[s0])
        wi, t = divmod(code_, n_types)
        if kind == "latencies":
            out[wi].latencies[types[t]] = np.asarray(v[s0:e0], dtype=np.int64)
        elif kind == "windows":
            out[wi].windows[types[t]] = np.asarray(v[s0:e0], dtype=np.int64)
        else:
            out[wi].ages[types[t]] = np.asarray(v[s0:e0], dtype=np.int64)
            out[wi].unfollowed[types[t]] = int(counts[code_])


def _sorted_pairs(key: I64, val: I64) -> tuple[I64, I64]:
    """(key, val) pairs sorted by key, then val (``key`` not negative)."""
    lo = int(val.min())
    bk, bv = max(1, int(key.max()).bit_length()), max(1, (int(val.max()) - lo).bit_length())
    if bk + bv > 63:
        order = np.lexsort((val, key))
        return key[order], val[order]
    # One packed sort: several times cheaper than a lexsort on millions of values.
    packed = key.astype(np.uint64) << np.uint64(bv)
    packed |= (val - lo).astype(np.uint64)
    packed.sort()
    v = (packed & np.uint64((1 << bv) - 1)).astype(np.int64)
    v += lo
    return (packed >> np.uint64(bv)).astype(np.int64), v


def _mode_service(
    f: Frame, key: npt.NDArray[np.int64], svc: npt.NDArray[np.int64], n_keys: int
) -> npt.NDArray[np.int64]:
    """The most frequent service per key (-1 where the key has no events)."""
    out = np.full(n_keys, -1, dtype=np.int64)
    if key.size == 0:
        return out
    n_svc = max(1, len(f.services))
    combo = key * n_svc + svc
    if n_keys * n_svc <= 4 * combo.size:
        # (counted, not sorted, where the combinations are few)
        counted = np.bincount(combo, minlength=n_keys * n_svc)
        uniq = np.flatnonzero(counted)
        cnt = counted[uniq]
    else:
        uniq, cnt = np.unique(combo, return_counts=True)
    k, s = np.divmod(uniq, n_svc)
    # Per key, the service with the highest count (ties: the smaller code).
    order = np.lexsort((s, -cnt, k))
    head = np.r_[True, k[order][1:] != k[order][:-1]]
    out[k[order][head]] = s[order][head]
    return out


def _after_failure(f: Frame, b: Built, wfs: dict[str, Workflow]) -> None:
    """How often each type occurs after a failure in its instance, and after
    a failure or a compensation (originals, in order)."""
    n_types = len(f.types)
    fail = np.zeros((len(b.workflows), n_types), dtype=bool)
    undo = np.zeros((len(b.workflows), n_types), dtype=bool)
    code = {t: i for i, t in enumerate(f.types)}
    for wi, name in enumerate(b.workflows):
        for t, node in wfs[name].nodes.items():
            fail[wi, code[t]] = node.kind == "failure"
            undo[wi, code[t]] = node.kind in ("failure", "compensation")
    if not undo.any() or b.c_eid.size == 0:
        return
    c_wf = b.wf[b.c_inst]
    c_typ = f.typ[b.c_eid]
    starts = np.r_[0, np.nonzero(np.diff(b.c_inst))[0] + 1]
    for kinds, attr in ((fail, "after_failure"), (undo, "after_undo")):
        n = _after_any(kinds[c_wf, c_typ], starts, c_wf * n_types + c_typ, len(b.workflows) * n_types)
        for code_ in np.nonzero(n)[0]:
            wi, ti = divmod(int(code_), n_types)
            setattr(wfs[b.workflows[wi]].nodes[f.types[ti]], attr, int(n[code_]))


def _after_any(
    marked: npt.NDArray[np.bool_], starts: npt.NDArray[np.intp], key: npt.NDArray[np.int64], n_keys: int
) -> npt.NDArray[np.int64]:
    """Per key, the events with a marked event before them in their instance
    (``starts``: each instance's first row; rows in order within it)."""
    is_marked = marked.astype(np.int64)
    run = np.cumsum(is_marked)
    base = np.repeat(run[starts] - is_marked[starts], np.diff(np.r_[starts, run.size]))
    after = (run - is_marked - base) > 0
    return np.bincount(key[after], minlength=n_keys)


def _declared_steps(wfs: dict[str, Workflow], cfg: ChoreoConfig) -> None:
    for name, d in cfg.workflows.items():
        w = wfs[name]
        for a, b in zip(d.steps, d.steps[1:], strict=False):
            e = w.edges.get((a, b))
            if e is None:
                w.edges[(a, b)] = Edge(0, None, None, None, declared=True, supported=True, next_step=True)
            else:
                e.declared = e.supported = e.next_step = True
        if d.steps:
            first = d.steps[0]
            for i, later in enumerate(d.steps[1:], start=1):
                svc = w.nodes[later].service if later in w.nodes else None
                w.expect[(first, later)] = Expect(1.0, None, svc, "declared", tuple(d.steps[i + 1 :]))


def write_model(con: duckdb.DuckDBPyConnection, wfs: dict[str, Workflow]) -> None:
    nodes, edges, flows, expect = [], [], [], []
    for w in wfs.values():
        flows.append((w.name, w.instances, w.timeout_ms, w.step_p99_ms, w.declared))
        for t, n in w.nodes.items():
            nodes.append(
                (
                    w.name,
                    t,
                    n.count,
                    n.service,
                    n.start,
                    n.terminal,
                    n.kind,
                    0,
                    n.followed_share,
                    n.repeats,
                    n.fixed_repeats,
                    n.paired,
                )
            )
        for (a, b), e in w.edges.items():
            flags = (e.kind, e.concurrent, e.declared, e.share, e.supported, e.next_step)
            edges.append((w.name, a, b, e.count, e.p50, e.p95, e.p99, *flags))
        for (p, c), x in w.expect.items():
            expect.append((w.name, p, c, x.share, x.p99, x.service, x.source, list(x.past)))
    _insert(con, "model_nodes", nodes)
    _insert(con, "model_edges", edges)
    _insert(con, "model_workflows", flows)
    _insert(con, "model_expect", expect)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def load_kinds(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for wf, t, kind in con.execute("SELECT workflow, event_type, kind FROM model_nodes").fetchall():
        out[wf][t] = kind
    return out
