"""The workflow model, learned per workflow from the ordered instances.

Heavy aggregation (directly-follows counts and latency percentiles, node
counts) runs in DuckDB over the temp tables ``_r_ie`` (ordered events) and
``_r_inst`` (instances); the decisions on the small aggregates run here:

- *concurrent* types: both A->B and B->A are seen, the rarer at least 10%
  of the other (parallel fan-out branches). Edges between them do not mean
  "A is followed by B".
- *terminal* types: of their settled occurrences (not the last event of an
  instance still within its expected latency), at most half are followed by
  a non-concurrent step.
- *failure* types by name (Failed, Declined, Rejected, Unavailable, ...),
  *compensation* types by name (Refunded, Cancelled, Released, ...) or by
  occurring only after a failure.
- *start* types: the first event of most instances containing them.
- fan-out *expectations*: a non-concurrent parent P and a concurrent child
  C that appears after P in at least ``branch_share`` of the finished
  instances without failure that contain P.

``choreo.toml`` workflows override: declared start/terminal/failure/
compensation lists replace the learned ones, declared steps add
expectations and fix the expected next step, a declared timeout applies.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from choreo.core.config import ChoreoConfig, WorkflowConfig
from choreo.reconstruct.engine.frame import Frame, register
from choreo.reconstruct.engine.instances import Built

_FAILURE_RE = re.compile(
    r"fail|declin|reject|error|unavailable|denied|refus|timeout|timedout|expired|invalid|abort|"
    r"outofstock|insufficient",
    re.IGNORECASE,
)
_COMPENSATION_RE = re.compile(
    r"refund|compensat|revert|rollback|cancel|releas|undo|void|revers",
    re.IGNORECASE,
)
_CONCURRENT_RATIO = 0.1
_TERMINAL_FOLLOW = 0.5
_COMPENSATION_AFTER = 0.95
_EXPECT_SAMPLE = 20_000
_MIN_SUPPORT = 3


def kind_by_name(event_type: str) -> str:
    if _FAILURE_RE.search(event_type):
        return "failure"
    if _COMPENSATION_RE.search(event_type):
        return "compensation"
    return "normal"


@dataclass
class Node:
    count: int
    service: str | None
    first: int = 0  # instances starting with it
    present: int = 0  # instances containing it
    after_failure: int = 0
    stuck_after: int = 0
    kind: str = "normal"
    terminal: bool = False
    start: bool = False
    followed_share: float | None = None


@dataclass
class Edge:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    kind: str = "normal"
    concurrent: bool = False
    declared: bool = False


@dataclass
class Workflow:
    name: str
    instances: int = 0
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    expect: dict[tuple[str, str], tuple[float, float | None, str | None, str]] = field(default_factory=dict)
    timeout_ms: int | None = None
    step_p99_ms: float | None = None
    declared: bool = False

    def concurrent(self, a: str, b: str) -> bool:
        e = self.edges.get((a, b))
        return e is not None and e.concurrent


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
    register(
        con,
        "_r_edge_src",
        pa.table({"wf": b.wf[b.e_inst], "src": b.e_src, "dst": b.e_dst, "lat": b.e_lat}),
    )
    try:
        edge_rows = con.execute(
            """
            SELECT wf, src, dst, count(*), quantile_cont(lat, [0.5, 0.95, 0.99])
            FROM _r_edge_src GROUP BY 1, 2, 3
            """
        ).fetchall()
    finally:
        con.unregister("_r_edge_src")
    for w, src, dst, n, q in edge_rows:
        wfs[b.workflows[w]].edges[(f.types[src], f.types[dst])] = Edge(int(n), q[0], q[1], q[2])

    for w in wfs.values():
        _concurrency(w)
        _kinds(w, _declared(cfg, w.name))
    _after_failure(f, b, wfs)
    for w in wfs.values():
        _compensation_by_position(w, _declared(cfg, w.name))
        _edge_kinds(w)
        p99s = [e.p99 for e in w.edges.values() if e.p99 is not None and not e.concurrent]
        w.step_p99_ms = max(p99s) if p99s else None
    _terminals(f, b, wfs, cfg, now_ms)
    _declared_steps(wfs, cfg)
    _fan_out(con, f, b, wfs, cfg)
    return wfs


def _mode_service(
    f: Frame, key: npt.NDArray[np.int64], svc: npt.NDArray[np.int64], n_keys: int
) -> npt.NDArray[np.int64]:
    """The most frequent service per key (-1 where the key has no events)."""
    out = np.full(n_keys, -1, dtype=np.int64)
    if key.size == 0:
        return out
    n_svc = max(1, len(f.services))
    combo = key * n_svc + svc
    uniq, cnt = np.unique(combo, return_counts=True)
    k, s = np.divmod(uniq, n_svc)
    # Per key, the service with the highest count (ties: the smaller code).
    order = np.lexsort((s, -cnt, k))
    head = np.r_[True, k[order][1:] != k[order][:-1]]
    out[k[order][head]] = s[order][head]
    return out


def _concurrency(w: Workflow) -> None:
    for (a, b), e in w.edges.items():
        back = w.edges.get((b, a))
        if a != b and back is not None:
            lo, hi = sorted((e.count, back.count))
            e.concurrent = lo >= _CONCURRENT_RATIO * hi


def _kinds(w: Workflow, d: WorkflowConfig | None) -> None:
    for t, node in w.nodes.items():
        if d is not None and (d.failure or d.compensation):
            node.kind = "failure" if t in d.failure else "compensation" if t in d.compensation else "normal"
        else:
            node.kind = kind_by_name(t)
        node.start = node.present > 0 and node.first / node.present >= 0.5
        if d is not None and d.start:
            node.start = t in d.start


def _after_failure(f: Frame, b: Built, wfs: dict[str, Workflow]) -> None:
    """How often each type occurs after a failure in its instance (originals, in order)."""
    n_types = len(f.types)
    fail = np.zeros((len(b.workflows), n_types), dtype=bool)
    code = {t: i for i, t in enumerate(f.types)}
    for wi, name in enumerate(b.workflows):
        for t, node in wfs[name].nodes.items():
            fail[wi, code[t]] = node.kind == "failure"
    if not fail.any() or b.c_eid.size == 0:
        return
    c_wf = b.wf[b.c_inst]
    c_typ = f.typ[b.c_eid]
    is_fail = fail[c_wf, c_typ].astype(np.int64)
    run = np.cumsum(is_fail)
    starts = np.r_[0, np.nonzero(np.diff(b.c_inst))[0] + 1]
    base = np.repeat(run[starts] - is_fail[starts], np.diff(np.r_[starts, run.size]))
    after = (run - is_fail - base) > 0
    n = np.bincount((c_wf * n_types + c_typ)[after], minlength=len(b.workflows) * n_types)
    for code_ in np.nonzero(n)[0]:
        wi, ti = divmod(int(code_), n_types)
        wfs[b.workflows[wi]].nodes[f.types[ti]].after_failure = int(n[code_])


def _compensation_by_position(w: Workflow, d: WorkflowConfig | None) -> None:
    if d is not None and (d.failure or d.compensation):
        return
    for node in w.nodes.values():
        if node.kind == "normal" and node.count and node.after_failure >= _COMPENSATION_AFTER * node.count:
            node.kind = "compensation"


def _edge_kinds(w: Workflow) -> None:
    for (a, b), e in w.edges.items():
        kb = w.nodes[b].kind if b in w.nodes else "normal"
        ka = w.nodes[a].kind if a in w.nodes else "normal"
        e.kind = kb if kb != "normal" else ka


def _terminals(f: Frame, b: Built, wfs: dict[str, Workflow], cfg: ChoreoConfig, now_ms: int) -> None:
    # An instance whose last event is younger than k x the learned latency
    # of what usually follows may simply be in flight: do not count it as
    # "not followed". (No min_overdue floor here: a short dump would have no
    # settled occurrence at all.)
    k = cfg.reconstruct.stuck_factor
    n_types = len(f.types)
    horizon = np.zeros((len(b.workflows), n_types), dtype=np.float64)
    code = {t: i for i, t in enumerate(f.types)}
    for wi, name in enumerate(b.workflows):
        w = wfs[name]
        for t in w.nodes:
            outs = [
                e.p99 for (a, _b), e in w.edges.items() if a == t and not e.concurrent and e.p99 is not None
            ]
            horizon[wi, code[t]] = k * max(outs) if outs else 0.0
    last_type = f.typ[b.last]
    young = (now_ms - b.end_ms) < horizon[b.wf, last_type]
    recent = np.bincount((b.wf * n_types + last_type)[young], minlength=len(b.workflows) * n_types)
    for wi, name in enumerate(b.workflows):
        w = wfs[name]
        d = _declared(cfg, w.name)
        for t, node in w.nodes.items():
            followed = sum(e.count for (a, _b), e in w.edges.items() if a == t and not e.concurrent)
            settled = node.count - int(recent[wi * n_types + code[t]])
            if settled <= 0:
                settled = node.count  # everything is in flight: judge on all of it
            node.followed_share = min(1.0, followed / settled) if settled > 0 else None
            if d is not None and d.terminal:
                node.terminal = t in d.terminal
            else:
                node.terminal = node.followed_share is not None and node.followed_share <= _TERMINAL_FOLLOW


def _declared_steps(wfs: dict[str, Workflow], cfg: ChoreoConfig) -> None:
    for name, d in cfg.workflows.items():
        w = wfs[name]
        for a, b in zip(d.steps, d.steps[1:], strict=False):
            e = w.edges.get((a, b))
            if e is None:
                w.edges[(a, b)] = Edge(0, None, None, None, declared=True)
            else:
                e.declared = True
        if d.steps:
            first = d.steps[0]
            for later in d.steps[1:]:
                svc = w.nodes[later].service if later in w.nodes else None
                w.expect[(first, later)] = (1.0, None, svc, "declared")


def _fan_out(
    con: duckdb.DuckDBPyConnection, f: Frame, b: Built, wfs: dict[str, Workflow], cfg: ChoreoConfig
) -> None:
    share_min = cfg.reconstruct.branch_share
    n_types = len(f.types)
    code = {t: i for i, t in enumerate(f.types)}
    wf_with_fan_out = [
        i for i, name in enumerate(b.workflows) if any(e.concurrent for e in wfs[name].edges.values())
    ]
    if not wf_with_fan_out:
        return
    # Finished instances without failure or compensation: they show what is expected.
    finished = np.zeros((len(b.workflows), n_types), dtype=bool)
    clean = np.ones((len(b.workflows), n_types), dtype=bool)
    for wi, name in enumerate(b.workflows):
        for t, node in wfs[name].nodes.items():
            finished[wi, code[t]] = node.terminal and node.kind == "normal"
            clean[wi, code[t]] = node.kind == "normal"
    ok = np.isin(b.wf, wf_with_fan_out) & finished[b.wf, f.typ[b.last]]
    rows, cols = np.nonzero(b.presence)
    dirty = np.zeros(b.k, dtype=bool)
    dirty[rows[~clean[b.wf[rows], cols]]] = True
    chosen = np.nonzero(ok & ~dirty)[0]
    if chosen.size > _EXPECT_SAMPLE:
        chosen = np.sort(np.random.default_rng(0).choice(chosen, _EXPECT_SAMPLE, replace=False))
    pick = np.zeros(b.k, dtype=bool)
    pick[chosen] = True
    sel = pick[b.c_inst]
    register(
        con,
        "_r_fan_src",
        pa.table(
            {"inst": b.c_inst[sel], "wf": b.wf[b.c_inst[sel]], "typ": f.typ[b.c_eid[sel]], "t": b.c_adj[sel]}
        ),
    )
    try:
        rows_ = con.execute(
            """
            WITH ft AS (SELECT inst, wf, typ, min(t) AS t FROM _r_fan_src GROUP BY ALL),
            pc AS (SELECT wf, typ, count(*) AS n FROM ft GROUP BY ALL)
            SELECT p.wf, p.typ, c.typ, count(*) FILTER (WHERE c.t >= p.t), any_value(pc.n),
                   quantile_cont(c.t - p.t, 0.99) FILTER (WHERE c.t >= p.t)
            FROM ft p JOIN ft c ON c.inst = p.inst AND c.typ <> p.typ
            JOIN pc ON pc.wf = p.wf AND pc.typ = p.typ
            GROUP BY 1, 2, 3
            """
        ).fetchall()
    finally:
        con.unregister("_r_fan_src")
    for wi, pi, ci, both_n, n_p, p99 in rows_:
        w = wfs[b.workflows[wi]]
        p, c = f.types[pi], f.types[ci]
        c_conc = any(e.concurrent for (a, _b), e in w.edges.items() if a == c)
        if not c_conc or w.concurrent(p, c) or n_p < _MIN_SUPPORT:
            continue
        share = both_n / n_p
        if share >= share_min:
            w.expect.setdefault((p, c), (share, p99, w.nodes[c].service, "fan-out"))


def write_model(con: duckdb.DuckDBPyConnection, wfs: dict[str, Workflow]) -> None:
    nodes, edges, flows, expect = [], [], [], []
    for w in wfs.values():
        flows.append((w.name, w.instances, w.timeout_ms, w.step_p99_ms, w.declared))
        for t, n in w.nodes.items():
            nodes.append((w.name, t, n.count, n.service, n.start, n.terminal, n.kind, 0, n.followed_share))
        for (a, b), e in w.edges.items():
            edges.append((w.name, a, b, e.count, e.p50, e.p95, e.p99, e.kind, e.concurrent, e.declared))
        for (p, c), (share, p99, svc, src) in w.expect.items():
            expect.append((w.name, p, c, share, p99, svc, src))
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
