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
import pyarrow as pa

from choreo.config import ChoreoConfig, WorkflowConfig

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


def assign_workflows(con: duckdb.DuckDBPyConnection, cfg: ChoreoConfig) -> None:
    """Set ``_r_inst.workflow``: declared by start type, by membership, else inferred.

    Inferred: the first event type, when that type is a start type (first in
    most instances containing it); an instance whose first event is not a
    start type (its beginning was not collected) joins the workflow that
    most instances containing that type belong to.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_presence AS
        SELECT comp, unnest(types) AS event_type FROM _r_inst
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_starts AS
        WITH f AS (SELECT first_type AS event_type, count(*) AS n FROM _r_inst GROUP BY 1),
             p AS (SELECT event_type, count(*) AS n FROM _r_presence GROUP BY 1)
        SELECT p.event_type, coalesce(f.n, 0) / p.n AS share FROM p LEFT JOIN f USING (event_type)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_dominant AS
        SELECT event_type, arg_max(first_type, n) AS workflow FROM (
            SELECT p.event_type, i.first_type, count(*) AS n
            FROM _r_presence p JOIN _r_inst i USING (comp)
            JOIN _r_starts s ON s.event_type = i.first_type AND s.share >= 0.5
            GROUP BY ALL
        ) GROUP BY event_type
        """
    )
    by_start: list[str] = []
    by_member: list[str] = []
    params: list[object] = []
    member_params: list[object] = []
    for name, wf in cfg.workflows.items():
        starts = wf.start or wf.steps[:1]
        if starts:
            by_start.append("WHEN list_contains(?::VARCHAR[], i.first_type) THEN ?")
            params += [starts, name]
        members = sorted(set(wf.start + wf.steps + wf.terminal + wf.failure + wf.compensation))
        if members:
            by_member.append("WHEN list_has_any(i.types, ?::VARCHAR[]) THEN ?")
            member_params += [members, name]
    declared = (
        "CASE " + " ".join(by_start + by_member) + " ELSE NULL END" if by_start or by_member else "NULL"
    )
    con.execute(
        f"""
        UPDATE _r_inst i SET workflow = coalesce(
            {declared},
            CASE WHEN x.share >= 0.5 THEN i.first_type ELSE coalesce(x.dominant, i.first_type) END)
        FROM (SELECT s.event_type, s.share, d.workflow AS dominant
              FROM _r_starts s LEFT JOIN _r_dominant d USING (event_type)) x
        WHERE x.event_type = i.first_type
        """,
        params + member_params,
    )


def _declared(cfg: ChoreoConfig, name: str) -> WorkflowConfig | None:
    return cfg.workflows.get(name)


def learn(con: duckdb.DuckDBPyConnection, cfg: ChoreoConfig, now_ms: int) -> dict[str, Workflow]:
    """Learn every workflow's model from ``_r_ie``/``_r_inst``/``_r_edge``."""
    rc = cfg.reconstruct
    wfs: dict[str, Workflow] = {}
    for wf_name, n in con.execute("SELECT workflow, count(*) FROM _r_inst GROUP BY 1").fetchall():
        wfs[str(wf_name)] = Workflow(str(wf_name), int(n))
    for name, wf_cfg in cfg.workflows.items():
        wfs.setdefault(name, Workflow(name)).declared = True
        if wf_cfg.timeout is not None:
            wfs[name].timeout_ms = int(wf_cfg.timeout * 1000)
    if rc.default_timeout is not None:
        for w in wfs.values():
            if w.timeout_ms is None:
                w.timeout_ms = int(rc.default_timeout * 1000)

    rows = con.execute(
        """
        WITH s AS (
            SELECT i.workflow, e.event_type, e.service, count(*) AS n
            FROM _r_ie e JOIN _r_inst i USING (comp) WHERE NOT e.is_dup GROUP BY ALL
        )
        SELECT workflow, event_type, sum(n)::BIGINT, arg_max(service, n) FROM s GROUP BY 1, 2
        """
    ).fetchall()
    for wf_name, t, n, svc in rows:
        wfs[wf_name].nodes[t] = Node(int(n), svc)
    for wf_name, t, first, present in con.execute(
        """
        SELECT i.workflow, p.event_type, count(*) FILTER (WHERE i.first_type = p.event_type), count(*)
        FROM _r_presence p JOIN _r_inst i USING (comp) GROUP BY 1, 2
        """
    ).fetchall():
        node = wfs[wf_name].nodes[t]
        node.first, node.present = int(first), int(present)
    for wf_name, src, dst, n, p50, p95, p99 in con.execute(
        """
        SELECT i.workflow, e.src, e.dst, count(*),
               quantile_cont(e.lat, 0.5), quantile_cont(e.lat, 0.95), quantile_cont(e.lat, 0.99)
        FROM _r_edge e JOIN _r_inst i USING (comp) GROUP BY 1, 2, 3
        """
    ).fetchall():
        wfs[wf_name].edges[(src, dst)] = Edge(int(n), p50, p95, p99)

    for w in wfs.values():
        _concurrency(w)
        _kinds(w, _declared(cfg, w.name))
    _after_failure(con, wfs)
    for w in wfs.values():
        _compensation_by_position(w, _declared(cfg, w.name))
        _edge_kinds(w)
        p99s = [e.p99 for e in w.edges.values() if e.p99 is not None and not e.concurrent]
        w.step_p99_ms = max(p99s) if p99s else None
    _terminals(con, wfs, cfg, now_ms)
    _declared_steps(wfs, cfg)
    _fan_out(con, wfs, cfg)
    return wfs


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


def _after_failure(con: duckdb.DuckDBPyConnection, wfs: dict[str, Workflow]) -> None:
    fails = [(w.name, t) for w in wfs.values() for t, n in w.nodes.items() if n.kind == "failure"]
    if not fails:
        return
    con.register(
        "_r_fail_src",
        pa.table({"workflow": [f[0] for f in fails], "event_type": [f[1] for f in fails]}),
    )
    rows = con.execute(
        """
        WITH f AS (
            SELECT e.comp, min(e.seq) AS s FROM _r_ie e JOIN _r_inst i USING (comp)
            JOIN _r_fail_src x ON x.workflow = i.workflow AND x.event_type = e.event_type
            WHERE NOT e.is_dup GROUP BY e.comp
        )
        SELECT i.workflow, e.event_type, count(*)
        FROM _r_ie e JOIN f USING (comp) JOIN _r_inst i USING (comp)
        WHERE NOT e.is_dup AND e.seq > f.s GROUP BY 1, 2
        """
    ).fetchall()
    con.unregister("_r_fail_src")
    for wf_name, t, n in rows:
        wfs[wf_name].nodes[t].after_failure = int(n)


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


def _terminals(
    con: duckdb.DuckDBPyConnection, wfs: dict[str, Workflow], cfg: ChoreoConfig, now_ms: int
) -> None:
    # An instance whose last event is younger than k x the learned latency
    # of what usually follows may simply be in flight: do not count it as
    # "not followed". (No min_overdue floor here: a short dump would have no
    # settled occurrence at all.)
    k = cfg.reconstruct.stuck_factor
    horizons: list[tuple[str, str, float]] = []
    for w in wfs.values():
        for t in w.nodes:
            outs = [
                e.p99 for (a, _b), e in w.edges.items() if a == t and not e.concurrent and e.p99 is not None
            ]
            horizons.append((w.name, t, k * max(outs) if outs else 0.0))
    recent: dict[tuple[str, str], int] = {}
    if horizons:
        con.register(
            "_r_h_src",
            pa.table(
                {
                    "workflow": [h[0] for h in horizons],
                    "event_type": [h[1] for h in horizons],
                    "horizon": [h[2] for h in horizons],
                }
            ),
        )
        for wf_name, t, n in con.execute(
            """
            SELECT i.workflow, i.last_type, count(*) FROM _r_inst i
            JOIN _r_h_src h ON h.workflow = i.workflow AND h.event_type = i.last_type
            WHERE ? - i.end_ms < h.horizon GROUP BY 1, 2
            """,
            [now_ms],
        ).fetchall():
            recent[(wf_name, t)] = int(n)
        con.unregister("_r_h_src")
    for w in wfs.values():
        d = _declared(cfg, w.name)
        for t, node in w.nodes.items():
            followed = sum(e.count for (a, b), e in w.edges.items() if a == t and not e.concurrent)
            settled = node.count - recent.get((w.name, t), 0)
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


def _fan_out(con: duckdb.DuckDBPyConnection, wfs: dict[str, Workflow], cfg: ChoreoConfig) -> None:
    share_min = cfg.reconstruct.branch_share
    cands: list[tuple[str, str]] = []
    for w in wfs.values():
        conc = {a for (a, b), e in w.edges.items() if e.concurrent}
        if not conc:
            continue
        for t in w.nodes:
            cands.append((w.name, t))
    if not cands:
        return
    finished = [
        (w.name, t) for w in wfs.values() for t, n in w.nodes.items() if n.terminal and n.kind == "normal"
    ]
    failing = [(w.name, t) for w in wfs.values() for t, n in w.nodes.items() if n.kind != "normal"]
    con.register(
        "_r_fin_src",
        pa.table({"workflow": [f[0] for f in finished], "event_type": [f[1] for f in finished]}),
    )
    con.register(
        "_r_bad_src",
        pa.table(
            {"workflow": [f[0] for f in failing] or [""], "event_type": [f[1] for f in failing] or [""]}
        ),
    )
    wf_names = sorted({c[0] for c in cands})
    rows = con.execute(
        f"""
        WITH inst AS (
            SELECT i.comp, i.workflow FROM _r_inst i
            JOIN _r_fin_src f ON f.workflow = i.workflow AND f.event_type = i.last_type
            WHERE i.workflow IN (SELECT unnest(?))
              AND NOT EXISTS (SELECT 1 FROM _r_presence p JOIN _r_bad_src b ON b.event_type = p.event_type
                              WHERE p.comp = i.comp AND b.workflow = i.workflow)
            ORDER BY hash(i.comp) LIMIT {_EXPECT_SAMPLE * 4}
        ),
        ft AS (
            SELECT e.comp, i.workflow, e.event_type, min(e.adj) AS t
            FROM _r_ie e JOIN inst i USING (comp) WHERE NOT e.is_dup GROUP BY ALL
        ),
        pc AS (SELECT workflow, event_type, count(*) AS n FROM ft GROUP BY ALL)
        SELECT p.workflow, p.event_type, c.event_type, count(*) FILTER (WHERE c.t >= p.t) AS both_n,
               any_value(pc.n), quantile_cont(c.t - p.t, 0.99) FILTER (WHERE c.t >= p.t)
        FROM ft p JOIN ft c ON c.comp = p.comp AND c.event_type <> p.event_type
        JOIN pc ON pc.workflow = p.workflow AND pc.event_type = p.event_type
        GROUP BY 1, 2, 3
        """,
        [wf_names],
    ).fetchall()
    con.unregister("_r_fin_src")
    con.unregister("_r_bad_src")
    for wf_name, p, c, both_n, n_p, p99 in rows:
        w = wfs[wf_name]
        c_conc = any(e.concurrent for (a, b), e in w.edges.items() if a == c)
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
