"""Status and stuck detection, evaluated in SQL against the stored model.

Works on the persisted tables only (instances, instance_events, model_*), so
the live path can re-judge the open instances against a new "now" without
rebuilding anything. For each instance in scope:

- *ended*: its last event is a terminal type. An ended instance is
  completed, failed (it contains a failure type) or compensated (it
  contains a compensation type), unless a fan-out branch (or declared step)
  expected after one of its steps is missing: then it is running until that
  branch is overdue, and stuck (``branch-missing``) after.
- otherwise the expected next step is what followed its last event type
  (non-concurrent directly-follows successors, most frequent first; declared
  steps take precedence). It is stuck when silent for longer than
  ``stuck_factor`` x the learned p99 latency of that step (at least
  ``min_overdue``; ``overdue``), or than the workflow's timeout
  (``timeout``). When a compensation has started or is what comes next, the
  reason is ``compensation-unfinished``. Waiting past the step's p99 on a
  service that has said nothing since several instances began waiting on
  it, past their deadlines, is stuck before its own deadline
  (``service-silent``).

The responsible service is the one that usually emits the expected type.
Its consumer group (``choreo.toml`` services.NAME.group, else
topic_consumers, else a group named like the service) is looked up in the
sampled committed offsets: committed past the event that should trigger the
step means "consumed, no reaction"; otherwise "not consumed yet, group lag N".
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from choreo.core.config import ChoreoConfig
from choreo.core.schema import STUCK
from choreo.reconstruct.engine.explain import explanation

StuckRows = list[tuple[object, ...]]  # ``stuck`` rows, in the table's column order

_RARE = 30  # next-step latencies below which a p99 is a few latencies' maximum
_RARE_CAP = 10.0  # ... stretching the deadline to at most this times the well-seen ones'
_PILED = 3  # instances overdue on a service that said nothing since they began waiting: it is down


@dataclass(frozen=True)
class EvalResult:
    judged: int
    stuck: int


def _service_groups(con: duckdb.DuckDBPyConnection, cfg: ChoreoConfig) -> None:
    pairs = [(name, s.group) for name, s in cfg.services.items() if s.group]
    # As parameters, not an Arrow table: see ``insert_stuck``.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _r_cfg_groups AS "
        "SELECT unnest($1::VARCHAR[]) AS service, unnest($2::VARCHAR[]) AS group_id",
        [[p[0] for p in pairs], [p[1] for p in pairs]],
    )


def evaluate(
    con: duckdb.DuckDBPyConnection,
    cfg: ChoreoConfig,
    now_ms: int,
    *,
    scope: str = "true",
    relation: str = "instances",
    update: bool = True,
) -> EvalResult:
    """Judge the instances of ``relation`` matching ``scope`` (SQL) at ``now_ms``.

    Updates their status there and replaces their rows in ``stuck``.
    ``relation`` is ``instances`` or a relation of the same shape (a
    rebuild judges before it stores); with ``update=False`` the statuses are
    left in ``_r_eval(instance_id, status)`` for the caller.
    """
    verdicts = judge_sql(con, cfg, now_ms, scope=scope, relation=relation, update=update)
    return store_stuck(con, verdicts, explain_stuck(verdicts), relation=relation, scope=scope)


@dataclass(frozen=True)
class Verdicts:
    """What the SQL decided: statuses (in ``_r_eval``), and the stuck
    instances' facts, still to be explained (``explain_stuck``)."""

    judged: int
    stuck_rows: list[tuple[object, ...]]
    now_ms: int
    k: float


def judge_sql(
    con: duckdb.DuckDBPyConnection,
    cfg: ChoreoConfig,
    now_ms: int,
    *,
    scope: str = "true",
    relation: str = "instances",
    update: bool = True,
) -> Verdicts:
    """The SQL part of ``evaluate``: statuses decided, stuck facts fetched."""
    rc = cfg.reconstruct
    k = float(rc.stuck_factor)
    floor_ms = float(rc.min_overdue * 1000)
    _service_groups(con, cfg)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _r_eval AS
        WITH c AS (SELECT * FROM {relation} WHERE {scope}),
        sets AS (
            SELECT workflow,
                   coalesce(list(event_type) FILTER (WHERE is_terminal), []) AS terms,
                   coalesce(list(event_type) FILTER (WHERE kind = 'failure'), []) AS fails,
                   coalesce(list(event_type) FILTER (WHERE kind = 'compensation'), []) AS comps
            FROM model_nodes GROUP BY workflow
        ),
        f AS (
            SELECT c.*, coalesce(list_contains(s.terms, c.last_type), false) AS ended,
                   coalesce(list_has_any(c.types, s.fails), false) AS has_fail,
                   coalesce(list_has_any(c.types, s.comps), false) AS has_comp
            FROM c LEFT JOIN sets s USING (workflow)
        ),
        declared_src AS (SELECT DISTINCT workflow, src_type FROM model_edges WHERE declared),
        nx_edges AS (
            -- A rare alternative's p99 is its few latencies' maximum: one an
            -- outage delayed makes it hours. It stretches the deadline at most
            -- to a multiple of the well-seen alternatives' (a failure outcome
            -- of the same step, by the same service).
            SELECT e.workflow, e.src_type, e.dst_type, e.count,
                   CASE WHEN e.count < $rare
                        THEN least(e.p99_ms, $rare_cap * max(CASE WHEN e.count >= $rare THEN e.p99_ms END)
                                                         OVER (PARTITION BY e.workflow, e.src_type))
                        ELSE e.p99_ms END AS p99_ms,
                   n.service,
                   n.kind = 'compensation' AS comp_dst,
                   -- A loop's type is due again after the loop's other steps.
                   coalesce(n.repeats > 1 AND NOT n.fixed_repeats, false) AS again
            FROM model_edges e
            LEFT JOIN model_nodes n ON n.workflow = e.workflow AND n.event_type = e.dst_type
            LEFT JOIN declared_src d ON d.workflow = e.workflow AND d.src_type = e.src_type
            WHERE e.next_step AND (e.declared OR d.src_type IS NULL)
        ),
        nx AS (
            -- What follows the last event's type, less what the instance
            -- already holds (a branch that arrived before its sibling is not
            -- what comes next) unless a loop brings it round again; a repeat
            -- of the type itself stays.
            SELECT f.instance_id,
                   list(e.dst_type ORDER BY e.count DESC, e.dst_type)
                       FILTER (WHERE e.dst_type <> e.src_type AND e.due) AS others,
                   bool_or(e.dst_type = e.src_type) AS repeat,
                   bool_or(e.dst_type <> e.src_type) AS any_others,
                   max(e.p99_ms) FILTER (WHERE e.dst_type <> e.src_type AND e.due) AS p99_others,
                   max(e.p99_ms) FILTER (WHERE e.dst_type = e.src_type OR e.due) AS p99_any,
                   arg_max(e.service, struct_pack(n := e.count, t := e.dst_type))
                       FILTER (WHERE e.dst_type <> e.src_type AND e.due) AS service_others,
                   bool_or(e.comp_dst AND e.due) AS comp_next
            FROM f JOIN (
                SELECT f2.instance_id, e.*, e.again OR NOT list_contains(f2.types, e.dst_type) AS due
                FROM f f2 JOIN nx_edges e ON e.workflow = f2.workflow AND e.src_type = f2.last_type
                WHERE NOT f2.ended
            ) e USING (instance_id)
            GROUP BY f.instance_id
        ),
        open_steps AS (
            -- A type that repeats (a lifecycle's start then complete, a loop)
            -- is expected again while the instance holds fewer of it than
            -- usual; otherwise what follows it. The deadline allows for either.
            -- Where every step known to follow is there already, nothing is
            -- due (the workflow's timeout still applies); where none is
            -- known, the workflow's slowest step sets the deadline.
            SELECT f.instance_id,
                   -- (a lifecycle in a loop: its complete, after an odd count)
                   coalesce(ln.paired AND f.last_repeats % 2 = 1, false)
                       OR coalesce(nx.repeat AND (f.last_repeats < coalesce(ln.repeats, 1)
                                                  OR NOT nx.any_others), false) AS same_again,
                   CASE WHEN same_again THEN [f.last_type]
                        -- (a loop past its usual rounds may still come round again)
                        WHEN nx.repeat AND NOT coalesce(ln.fixed_repeats, false)
                        THEN list_concat(coalesce(nx.others, []), [f.last_type])
                        ELSE coalesce(nx.others, []) END AS expected,
                   CASE WHEN nx.instance_id IS NULL THEN w.step_p99_ms
                        -- (a loop may come round again; a lifecycle done is done)
                        WHEN nx.repeat AND NOT (ln.fixed_repeats AND f.last_repeats >= ln.repeats)
                        THEN nx.p99_any ELSE nx.p99_others END AS p99,
                   CASE WHEN same_again THEN ln.service ELSE nx.service_others END AS service,
                   w.timeout_ms,
                   f.end_ms AS base_ms, f.last_topic AS t_topic, f.last_partition AS t_partition,
                   f.last_offset AS t_offset, (f.has_comp OR coalesce(nx.comp_next, false)) AS comp
            FROM f LEFT JOIN nx USING (instance_id)
            LEFT JOIN model_nodes ln ON ln.workflow = f.workflow AND ln.event_type = f.last_type
            LEFT JOIN model_workflows w ON w.workflow = f.workflow
            WHERE NOT f.ended
        ),
        missing_all AS (
            SELECT f.instance_id, f.workflow, f.types, f.last_type, x.parent_type, x.child_type, x.p99_ms,
                   x.service
            FROM f JOIN model_expect x ON x.workflow = f.workflow
            WHERE NOT f.has_fail AND NOT f.has_comp
              AND list_contains(f.types, x.parent_type) AND NOT list_contains(f.types, x.child_type)
              AND (f.ended OR len(x.past) = 0 OR list_has_any(f.types, x.past))
        ),
        missing AS (
            -- Within a branch of several steps, only the first missing one is
            -- awaited: the later ones wait for it.
            SELECT m.instance_id, m.workflow, m.last_type, m.parent_type, m.child_type, m.p99_ms, m.service
            FROM missing_all m
            WHERE NOT EXISTS (
                SELECT 1 FROM model_precedence mp JOIN missing_all o
                     ON o.instance_id = m.instance_id AND o.child_type = mp.parent_type
                WHERE mp.workflow = m.workflow AND mp.child_type = m.child_type AND mp.latest
                  AND mp.parent_type <> m.child_type
            )
        ),
        parents AS (
            -- From the parent's latest event (a loop's last round), as the
            -- model measured the branch's latency.
            SELECT m.instance_id, m.parent_type, arg_max([ie.adj_ts_ms, ie."offset"], ie.seq) AS last_ev,
                   arg_max(ie.topic, ie.seq) AS topic
            FROM (SELECT DISTINCT instance_id, parent_type FROM missing) m
            JOIN instance_events ie ON ie.instance_id = m.instance_id AND ie.duplicate_of_seq IS NULL
            JOIN log_events ev ON ev.topic = ie.topic AND ev.partition = ie.partition
                 AND ev."offset" = ie."offset" AND ev.event_type = m.parent_type
            GROUP BY 1, 2
        ),
        parent_pos AS (
            SELECT p.instance_id, p.parent_type, p.last_ev[1] AS t_ms, p.topic, ie.partition,
                   p.last_ev[2] AS off
            FROM parents p JOIN instance_events ie ON ie.instance_id = p.instance_id
                 AND ie.topic = p.topic AND ie."offset" = p.last_ev[2] AND ie.adj_ts_ms = p.last_ev[1]
        ),
        lifecycle AS (
            -- A type that comes a fixed number of times (a lifecycle's start
            -- and complete) is awaited again while the instance holds fewer,
            -- wherever it stands in the instance, from its last occurrence;
            -- one that comes in pairs (a lifecycle in a loop), while it holds
            -- an odd number.
            SELECT f.instance_id, n.event_type AS child_type, n.event_type AS parent_type, e.p99_ms,
                   n.service, arg_max([ie.adj_ts_ms, ie."offset"], ie.seq) AS last_ev,
                   arg_max(ie.topic, ie.seq) AS topic, arg_max(ie.partition, ie.seq) AS partition
            FROM f JOIN model_nodes n ON n.workflow = f.workflow AND (n.fixed_repeats OR n.paired)
                 AND list_contains(f.types, n.event_type)
            JOIN model_edges e ON e.workflow = n.workflow AND e.src_type = n.event_type
                 AND e.dst_type = n.event_type
            JOIN instance_events ie ON ie.instance_id = f.instance_id AND ie.duplicate_of_seq IS NULL
            JOIN log_events ev ON ev.topic = ie.topic AND ev.partition = ie.partition
                 AND ev."offset" = ie."offset" AND ev.event_type = n.event_type
            WHERE NOT f.ended AND NOT f.has_fail AND NOT f.has_comp
            GROUP BY f.instance_id, n.event_type, e.p99_ms, n.service, n.repeats, n.fixed_repeats
            HAVING CASE WHEN n.fixed_repeats THEN count(*) < n.repeats ELSE count(*) % 2 = 1 END
        ),
        awaited AS (
            -- After a loop's round the loop may come round again before the
            -- branches go: the deadline allows for either, until something
            -- after the loop came (a sibling branch: the loop is over).
            SELECT m.instance_id, m.parent_type, m.child_type,
                   greatest(m.p99_ms, coalesce(lp.p99_ms, m.p99_ms)) AS p99_ms, m.service, pp.t_ms, pp.topic,
                   pp.partition, pp.off
            FROM missing m JOIN parent_pos pp USING (instance_id, parent_type)
            LEFT JOIN model_nodes pn ON pn.workflow = m.workflow AND pn.event_type = m.parent_type
            LEFT JOIN model_edges lp ON lp.workflow = m.workflow AND lp.src_type = m.parent_type
                 AND lp.dst_type = m.parent_type AND NOT coalesce(pn.fixed_repeats, false)
                 AND m.last_type = m.parent_type
            -- What follows a lifecycle waits for its complete.
            WHERE NOT EXISTS (
                SELECT 1 FROM lifecycle l WHERE l.instance_id = m.instance_id AND l.child_type = m.parent_type
            )
            UNION ALL
            SELECT instance_id, parent_type, child_type, p99_ms, service, last_ev[1], topic, partition,
                   last_ev[2]
            FROM lifecycle
        ),
        branch_steps AS (
            -- Overdue when any awaited branch is: the deadline is the
            -- earliest of theirs (a slow branch still pending does not
            -- hold back a fast one long missing).
            SELECT m.instance_id, list(DISTINCT m.child_type ORDER BY m.child_type) AS expected,
                   arg_min(m.p99_ms, struct_pack(d := m.t_ms + greatest($k * m.p99_ms, $floor_ms),
                                                 c := m.child_type)) AS p99,
                   arg_min(m.service, struct_pack(t := m.t_ms, c := m.child_type)) AS service, w.timeout_ms,
                   arg_min(m.t_ms, struct_pack(d := m.t_ms + greatest($k * m.p99_ms, $floor_ms),
                                               c := m.child_type)) AS base_ms,
                   arg_min(m.topic, struct_pack(t := m.t_ms, p := m.parent_type)) AS t_topic,
                   arg_min(m.partition, struct_pack(t := m.t_ms, p := m.parent_type)) AS t_partition,
                   arg_min(m.off, struct_pack(t := m.t_ms, p := m.parent_type)) AS t_offset,
                   false AS comp
            FROM awaited m
            JOIN {relation} i USING (instance_id) LEFT JOIN model_workflows w ON w.workflow = i.workflow
            GROUP BY m.instance_id, w.timeout_ms
        ),
        steps AS (
            -- A branch its parent expects and that has not come is what the
            -- instance waits for (before a join, too); otherwise its next step.
            SELECT * EXCLUDE (same_again), false AS branch FROM open_steps
            WHERE instance_id NOT IN (SELECT instance_id FROM branch_steps)
            UNION ALL BY NAME
            SELECT *, true AS branch FROM branch_steps
        ),
        due AS (
            SELECT s.*,
                   CASE WHEN s.p99 IS NOT NULL THEN s.base_ms + greatest($k * s.p99, $floor_ms) END
                       AS overdue_at,
                   s.base_ms + s.timeout_ms AS timeout_at
            FROM steps s
        ),
        judged AS (
            SELECT d.*, least(d.overdue_at, d.timeout_at) AS due_at FROM due d
        )
        SELECT f.instance_id, f.workflow, f.last_type, f.last_service, f.last_topic, f.last_partition,
               f.last_offset, f.end_ms, f.ended, f.has_fail, f.has_comp,
               j.expected, j.p99, j.service, j.timeout_ms, j.base_ms, j.t_topic, j.t_partition,
               j.t_offset, j.comp, j.branch, j.overdue_at, j.timeout_at, j.due_at,
               (j.due_at IS NOT NULL AND {int(now_ms)} > j.due_at) AS is_stuck,
               CASE
                   WHEN j.due_at IS NOT NULL AND {int(now_ms)} > j.due_at THEN 'stuck'
                   WHEN f.ended AND j.branch IS NULL THEN
                       CASE WHEN f.has_comp THEN 'compensated' WHEN f.has_fail THEN 'failed'
                            ELSE 'completed' END
                   ELSE 'running'
               END AS status
        FROM f LEFT JOIN judged j USING (instance_id)
        """,
        # Config numbers are parameters, never SQL text.
        {"k": k, "floor_ms": floor_ms, "rare": _RARE, "rare_cap": _RARE_CAP},
    )
    _spare_fragments(con, relation)
    _waiting_on_silent(con, now_ms)
    if update:
        con.execute(
            f"""
            UPDATE {relation} SET status = e.status
            FROM _r_eval e WHERE e.instance_id = {relation}.instance_id
            """
        )
    rows = con.execute(
        """
        WITH s AS (SELECT * FROM _r_eval WHERE is_stuck),
        grp AS (
            SELECT s.instance_id, coalesce(
                (SELECT g.group_id FROM _r_cfg_groups g WHERE g.service = s.service LIMIT 1),
                (SELECT min(tc.group_id) FROM log_topic_consumers tc
                 WHERE tc.service = s.service AND tc.topic = s.t_topic),
                (SELECT min(tc.group_id) FROM log_topic_consumers tc WHERE tc.service = s.service),
                (SELECT min(go.group_id) FROM log_group_offsets go WHERE go.group_id = s.service)
            ) AS group_id
            FROM s
        )
        SELECT s.instance_id, s.workflow, s.last_type, s.last_service, s.last_topic, s.last_partition,
               s.last_offset, s.expected, s.service, s.p99, s.timeout_ms, s.base_ms, s.overdue_at,
               s.timeout_at, s.due_at, s.comp, s.branch, s.t_topic, s.t_partition, s.t_offset,
               g.group_id, go.committed_offset, go.high_watermark, (go.group_id IS NOT NULL) AS has_offsets,
               s.end_ms, s.silent_since, s.waiting
        FROM s JOIN grp g USING (instance_id)
        LEFT JOIN log_group_offsets go ON go.group_id = g.group_id AND go.topic = s.t_topic
             AND go.partition = s.t_partition
        """
    ).fetchall()
    con.execute("DROP TABLE _r_cfg_groups")
    judged = con.execute("SELECT count(*) FROM _r_eval").fetchone()
    return Verdicts(int(judged[0]) if judged else 0, rows, now_ms, k)


def _spare_fragments(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """An instance whose beginning is missing (its first type starts none of
    its workflow's instances: retention took the rest) is not stuck waiting
    for types that never tie directly to any type it holds: such an event,
    had it come, would sit in another fragment, and this one could never
    look finished. Nothing can be told about it; it stays running."""
    con.execute(
        f"""
        UPDATE _r_eval SET is_stuck = false, status = 'running'
        WHERE instance_id IN (
            SELECT e.instance_id FROM _r_eval e JOIN {relation} i USING (instance_id)
            JOIN model_nodes n ON n.workflow = i.workflow AND n.event_type = i.first_type
            WHERE e.is_stuck AND NOT n.is_start AND len(e.expected) > 0
              AND NOT EXISTS (
                  SELECT 1 FROM model_links l
                  WHERE l.workflow = i.workflow AND l.linked >= 0.5 * l.together
                    AND ((list_contains(e.expected, l.type_a) AND list_contains(i.types, l.type_b))
                         OR (list_contains(e.expected, l.type_b) AND list_contains(i.types, l.type_a)))
              )
        )
        """
    )


def _waiting_on_silent(con: duckdb.DuckDBPyConnection, now_ms: int) -> None:
    """A service that has said nothing since several instances began waiting
    on it, past their deadlines, is down (an idle one has nobody waiting):
    what waits on it is stuck once its step is due (waited past the step's
    learned p99: it would have come by now), before its own deadline (it
    arrived a minute ago, the service went quiet an hour ago); every stuck
    instance waiting on it says so (``silent_since``, ``waiting``). A slow
    step it arrived at a minute ago is not due yet: running."""
    con.execute("ALTER TABLE _r_eval ADD COLUMN silent_since BIGINT")
    con.execute("ALTER TABLE _r_eval ADD COLUMN waiting BIGINT")
    con.execute(
        f"""
        WITH overdue AS (
            SELECT service FROM _r_eval
            WHERE is_stuck AND service IS NOT NULL GROUP BY service HAVING count(*) >= {_PILED}
        ),
        said AS (
            SELECT ev.service, max(ev.ts_ms) AS last_ms FROM log_events ev
            WHERE ev.service IN (SELECT service FROM overdue) GROUP BY ev.service
        ),
        silent AS (
            SELECT e.service, s.last_ms, count(*) FILTER (WHERE e.base_ms > s.last_ms) AS waiting
            FROM _r_eval e JOIN said s USING (service) WHERE e.is_stuck GROUP BY e.service, s.last_ms
        )
        UPDATE _r_eval SET is_stuck = true, status = 'stuck', silent_since = x.last_ms, waiting = x.waiting
        FROM silent x
        WHERE x.waiting >= {_PILED} AND _r_eval.service = x.service AND _r_eval.base_ms > x.last_ms
          AND _r_eval.due_at IS NOT NULL
          AND (_r_eval.is_stuck OR {int(now_ms)} - _r_eval.base_ms > _r_eval.p99)
          AND _r_eval.status IN ('stuck', 'running')
        """
    )


def explain_stuck(verdicts: Verdicts) -> StuckRows:
    """The ``stuck`` rows, explained (plain Python: a rebuild runs it in a
    thread while DuckDB writes the other tables)."""
    return [_stuck_row(r, verdicts.now_ms, verdicts.k) for r in verdicts.stuck_rows]


def store_stuck(
    con: duckdb.DuckDBPyConnection,
    verdicts: Verdicts,
    rows: StuckRows,
    *,
    relation: str = "instances",
    scope: str = "true",
) -> EvalResult:
    """Replace the ``stuck`` rows of the judged instances with ``rows``."""
    con.execute(f"DELETE FROM stuck WHERE instance_id IN (SELECT instance_id FROM {relation} WHERE {scope})")
    insert_stuck(con, rows)
    con.execute(
        """
        UPDATE model_nodes SET stuck_after = coalesce(
            (SELECT count(*) FROM stuck s WHERE s.workflow = model_nodes.workflow
             AND s.last_type = model_nodes.event_type), 0)
        """
    )
    return EvalResult(verdicts.judged, len(rows))


# Up to this many rows go as LIST parameters, more as an Arrow table (see ``insert_stuck``).
ARROW_FROM = 2_000


def insert_stuck(con: duckdb.DuckDBPyConnection, rows: StuckRows, *, arrow_from: int = ARROW_FROM) -> None:
    """Append ``rows`` to ``stuck``.

    A few (re-judging at a command's start on a live store): column-wise as
    LIST parameters, unnested side by side and cast to the columns' types,
    so that judging imports neither pyarrow nor numpy (a good part of the
    start). Many (a rebuild: tens of thousands): Arrow, which converts them
    about twice as fast."""
    if not rows:
        return
    if len(rows) < arrow_from:
        columns = [list(c) for c in zip(*rows, strict=True)]
        unnested = ", ".join(f"unnest(${i}::{c.sql}[])" for i, c in enumerate(STUCK.columns, 1))
        con.execute(f"INSERT INTO stuck ({STUCK.select_list()}) SELECT {unnested}", columns)
        return
    import pyarrow as pa

    schema = STUCK.arrow_schema()
    table = pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema=schema)
    con.register("_r_stuck_src", table)
    try:
        con.execute(f"INSERT INTO stuck ({STUCK.select_list()}) SELECT * FROM _r_stuck_src")
    finally:
        con.unregister("_r_stuck_src")


def _stuck_row(r: tuple[object, ...], now_ms: int, k: float) -> tuple[object, ...]:
    (
        instance_id,
        workflow,
        last_type,
        last_service,
        last_topic,
        last_partition,
        last_offset,
        expected,
        service,
        p99,
        timeout_ms,
        base_ms,
        _overdue_at,
        timeout_at,
        due_at,
        comp,
        branch,
        t_topic,
        t_partition,
        t_offset,
        group_id,
        committed,
        high,
        has_offsets,
        end_ms,
        silent_since,
        waiting,
    ) = r
    assert isinstance(due_at, int | float) and isinstance(base_ms, int | float)
    early = now_ms <= due_at  # stuck only because its service went silent
    if early:
        reason = "service-silent"
    elif branch:
        reason = "branch-missing"
    elif comp:
        reason = "compensation-unfinished"
    elif timeout_at is not None and timeout_at == due_at:
        reason = "timeout"
    else:
        reason = "overdue"
    state: str | None = None
    lag: int | None = None
    if group_id is not None and has_offsets:
        if committed is not None and isinstance(t_offset, int) and int(str(committed)) > t_offset:
            state = "consumed-no-reaction"
        else:
            state = "lagging"
            if committed is not None and high is not None:
                lag = max(0, int(str(high)) - int(str(committed)))
    elif group_id is not None or service is not None:
        state = "unknown"
    assert isinstance(end_ms, int | float)
    silent = int(now_ms - end_ms)
    waited = int(now_ms - base_ms)
    within = int(due_at - base_ms)
    overdue = int(now_ms - due_at)
    quiet = None if silent_since is None else (int(now_ms - int(str(silent_since))), int(str(waiting)))
    exp_list = [str(x) for x in expected] if isinstance(expected, list) else []
    text = explanation(
        reason=reason,
        last_type=str(last_type),
        last_service=str(last_service),
        expected=exp_list,
        service=None if service is None else str(service),
        silent_ms=waited,
        within_ms=within,
        overdue_ms=overdue,
        p99_ms=None if p99 is None else float(str(p99)),
        k=k,
        timeout_ms=None if timeout_ms is None else int(str(timeout_ms)),
        trigger=(str(t_topic), int(str(t_partition)), int(str(t_offset))) if t_topic is not None else None,
        group=None if group_id is None else str(group_id),
        state=state,
        lag=lag,
        committed=None if committed is None else int(str(committed)),
        quiet=quiet,
    )
    return (
        instance_id,
        workflow,
        reason,
        last_type,
        last_service,
        last_topic,
        last_partition,
        last_offset,
        exp_list,
        service,
        silent,
        within,
        None if early else overdue,
        group_id,
        state,
        lag,
        text,
        t_topic,
        t_partition,
        t_offset,
        now_ms,
    )
