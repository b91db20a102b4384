"""Reconstruction: raw events in, derived tables out.

API (used by the CLI, ``choreo tail`` and the demo)::

    from choreo.reconstruct.engine.pipeline import rebuild, update, judge, IncrementalReconstructor
    stats = rebuild(store, config, now_ms=None)   # everything, from scratch
    stats = update(store, config, now_ms=None)    # live: only the touched instances
    stats = update(store, config, keys=[("orders", 0, 4711)])   # ... or exactly these new records
    judge(store, config, now_ms)                  # re-judge open instances at a new "now"
    live = IncrementalReconstructor(store, config); live.tick()   # the live loop's one call

``rebuild`` fills all derived tables (instances, instance_events, model_*,
variants, stuck, identifier_stats) from the raw ones, replacing what was
there, in one transaction. ``update`` re-stitches only the instances that
events stored since the last rebuild/update touch (found through the
``ingested_ms`` watermark, or given explicitly as ``keys``), keeps the learned
model, and re-judges every open instance against ``now``. ``IncrementalReconstructor``
wraps both for a live loop: it updates on each tick and relearns the model
with a full rebuild when the log has grown by a quarter since the last one.
Between full rebuilds the model (terminal types, latencies, variants) is
the one learned last; instances, statuses and the stuck list are current.
When a collector writes the same store from another thread, give
reconstruction its own connection: ``store.cursor()`` (DuckDB serialises the
two writers' transactions).

"now": ``now_ms`` when given; else the newest event time when every event
came from an import (a dump is judged as of when it was taken); else the
wall clock.

Several stores: open them with ``reconstruct.log.open_log`` first; the
derived tables go to the store it returns (the first ``--db`` or ``--out``).

The heavy lifting is in DuckDB (joins, aggregation, percentiles) and numpy/
scipy (connected components, causal ordering); no per-event Python loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from choreo.core.config import ChoreoConfig
from choreo.core.event_log import ensure_log_views
from choreo.core.logsetup import kv
from choreo.core.schema import (
    DERIVED_SHAPE,
    DERIVED_TABLES,
    META_FINGERPRINT,
    META_FULL_EVENTS,
    META_NOW,
    META_SHAPE,
    META_WATERMARK,
)
from choreo.core.store import Store
from choreo.reconstruct.engine.frame import Frame, load_frame, register
from choreo.reconstruct.engine.instance_keys import (
    insert_instance_keys,
    instance_keys_table,
    key_rows,
    named,
    parallel_inserts,
)
from choreo.reconstruct.engine.instances import Built, KnownWorkflows, build
from choreo.reconstruct.engine.keys import analyse_keys, write_key_stats
from choreo.reconstruct.engine.model import learn, write_model
from choreo.reconstruct.engine.status import evaluate, judge_sql, store_stuck, stuck_table
from choreo.reconstruct.engine.stitch import components, link_keys, parents
from choreo.reconstruct.query.records import KeyStat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RebuildStats:
    events: int  # records read
    instances: int
    unlinked: int  # events in no instance (no stitching identifier, no causation link)
    duplicates: int
    skewed: int  # events whose timestamp was adjusted for clock skew
    workflows: int
    stuck: int
    by_status: dict[str, int] = field(default_factory=dict)
    traps: list[str] = field(default_factory=list)  # identifier names not stitched through
    now_ms: int = 0
    seconds: float = 0.0
    incremental: bool = False


# -- "now" and staleness ---------------------------------------------------
@dataclass(frozen=True)
class _LogFacts:
    events: int
    newest_ingested: int | None
    newest_ts: int | None
    all_imported: bool


def _facts(con: duckdb.DuckDBPyConnection) -> _LogFacts:
    row = con.execute(
        "SELECT count(*), max(ingested_ms), max(coalesce(ts_ms, event_time_ms)), "
        "bool_and(starts_with(source, 'import:')) FROM log_events"
    ).fetchall()[0]
    return _LogFacts(int(row[0]), row[1], row[2], bool(row[3]))


def _now(facts: _LogFacts) -> int:
    if facts.all_imported and facts.newest_ts is not None:
        return int(facts.newest_ts)
    return int(time.time() * 1000)


def default_now(con: duckdb.DuckDBPyConnection) -> int:
    """Newest event time for imported logs, wall clock otherwise."""
    return _now(_facts(con))


def _fingerprint(store: Store, config: ChoreoConfig, facts: _LogFacts) -> str:
    dbs = ",".join(
        str(r[0])
        for r in store.con.execute(
            "SELECT path FROM duckdb_databases() WHERE NOT internal AND path IS NOT NULL ORDER BY path"
        ).fetchall()
    )
    cfg = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
    return f"{facts.events}:{facts.newest_ingested or 0}:{cfg}:{dbs}"


def fingerprint(store: Store, config: ChoreoConfig) -> str:
    """Changes when the raw log or the config changes."""
    ensure_log_views(store)
    return _fingerprint(store, config, _facts(store.con))


def is_stale(store: Store, config: ChoreoConfig) -> bool:
    return store.get_meta(META_SHAPE) != DERIVED_SHAPE or store.get_meta(META_FINGERPRINT) != fingerprint(
        store, config
    )


# -- the pipeline ----------------------------------------------------------
def recreate_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Drop and create the derived tables (owned by reconstruct; always current shape)."""
    for table in DERIVED_TABLES:
        con.execute(f"DROP TABLE IF EXISTS main.{table.name}")
        con.execute(table.ddl())


def _types_lists(f: Frame, b: Built) -> pa.Array:
    rows, cols = np.nonzero(b.presence)
    offsets = np.zeros(b.k + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=b.k), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(f.types, pa.string()).take(pa.array(cols)))


def _masked(a: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(a.astype(np.int32), mask=a < 0)


def _write(con: duckdb.DuckDBPyConnection, f: Frame, b: Built, *, with_variants: bool = True) -> None:
    """instance_events and variants; the instances are left registered as the
    Arrow view ``_r_inst_src`` (status still to be judged)."""
    types = pa.array(f.types, pa.string())
    last_topic, last_partition, last_offset = f.coordinates(b.last)
    inst = pa.table(
        {
            "instance_id": b.instance_id,
            "workflow": pa.array(b.workflows, pa.string()).take(pa.array(b.wf)),
            "status": pa.array(["running"] * b.k, pa.string()),
            "label": b.label,
            "start_ms": b.start_ms,
            "end_ms": b.end_ms,
            "n_events": pa.array(b.n_events.astype(np.int32)),
            "n_duplicates": pa.array(b.n_dup.astype(np.int32)),
            "n_skewed": pa.array(b.n_skewed.astype(np.int32)),
            "first_type": types.take(pa.array(f.typ[b.first])),
            "last_type": types.take(pa.array(f.typ[b.last])),
            "last_service": pa.array(f.services, pa.string()).take(pa.array(f.svc[b.last])),
            "last_topic": last_topic,
            "last_partition": last_partition,
            "last_offset": last_offset,
            "types": _types_lists(f, b),
            "variant": pa.array(b.variant.astype(np.int32)),
        }
    )
    register(con, "_r_inst_src", inst)
    topic, partition, offset = f.coordinates(b.m_eid)
    events = pa.table(
        {
            "instance_id": pa.DictionaryArray.from_arrays(pa.array(b.m_inst.astype(np.int32)), b.instance_id),
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "seq": pa.array(b.m_seq.astype(np.int32)),
            "adj_ts_ms": b.m_adj,
            "skew_ms": b.m_skew,
            "parent_seq": _masked(b.m_parent_seq),
            "duplicate_of_seq": _masked(b.m_dup_seq),
        }
    )
    register(con, "_r_ie_src", events)
    try:
        with parallel_inserts(con):  # readers order by (instance_id, seq) themselves
            con.execute("INSERT INTO instance_events SELECT * FROM _r_ie_src")
    finally:
        con.unregister("_r_ie_src")
    if not with_variants:
        return
    variants = pa.table(
        {
            "workflow": [v[0] for v in b.variants],
            "rank": pa.array([v[1] for v in b.variants], pa.int32()),
            "path": pa.array([v[2] for v in b.variants], pa.list_(pa.string())),
            "count": pa.array([v[3] for v in b.variants], pa.int64()),
            "share": pa.array([v[4] for v in b.variants], pa.float64()),
        }
    )
    con.register("_r_var_src", variants)
    try:
        con.execute("INSERT INTO variants SELECT * FROM _r_var_src")
    finally:
        con.unregister("_r_var_src")


@contextlib.contextmanager
def _background_keys(
    con: duckdb.DuckDBPyConnection, f: Frame, comp: npt.NDArray[np.int64]
) -> Iterator[Future[pa.Table]]:
    """``key_rows`` computed on a cursor in a worker thread."""
    cursor = con.cursor()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="choreo-keys")
    try:
        # A shallow copy: the caller may drop the frame's identifier columns meanwhile.
        yield pool.submit(key_rows, cursor, replace(f), comp)
    finally:
        pool.shutdown(wait=True)
        cursor.close()


_INSTANCE_COLUMNS = (
    "instance_id",
    "workflow",
    "status",
    "label",
    "start_ms",
    "end_ms",
    "n_events",
    "n_duplicates",
    "n_skewed",
    "first_type",
    "last_type",
    "last_service",
    "last_topic",
    "last_partition",
    "last_offset",
    "types",
    "variant",
)


_JUDGED_COLUMNS = ", ".join(
    "coalesce(e.status, 'running')" if c == "status" else f's."{c}"' for c in _INSTANCE_COLUMNS
)


def _unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    with contextlib.suppress(duckdb.Error):
        con.unregister(name)


def _status_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        str(s): int(n)
        for s, n in con.execute("SELECT status, count(*) FROM instances GROUP BY 1 ORDER BY 1").fetchall()
    }


def rebuild(store: Store, config: ChoreoConfig | None = None, *, now_ms: int | None = None) -> RebuildStats:
    """Fill every derived table from the raw events (see the module docstring)."""
    t0 = time.perf_counter()
    cfg = config or ChoreoConfig()
    con = store.con
    ensure_log_views(store)
    facts = _facts(con)
    now = _now(facts) if now_ms is None else int(now_ms)
    fp = _fingerprint(store, cfg, facts)
    f = load_frame(con)
    with con.cursor() as cur, ThreadPoolExecutor(max_workers=1, thread_name_prefix="choreo-parents") as pool:
        # Causation links need only the events: found (on a second connection)
        # while the identifiers are analysed.
        parent_job = pool.submit(parents, f, cur)
        stats = analyse_keys(con, f, cfg.reconstruct)
        eid, link = link_keys(f, stats)
        parent = parent_job.result()
    comp, _k = components(f, eid, link, parent)
    # Peak memory: what stitching needed is not needed to order, learn and write.
    del eid, link
    # instance_keys is worked out on a second connection (its own thread; numpy
    # and DuckDB release the GIL) while the instances are built, the model is
    # learnt and the other tables are written; it only reads Arrow data, never
    # the store. Instance numbers are component numbers.
    with (
        _background_keys(con, f, comp) as keys,
        con.cursor() as side_con,  # (closed after the pool has finished with it)
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="choreo-side") as side,
    ):
        b = build(f, comp, parent, cfg, stats)
        duplicates = int(f.is_dup[comp >= 0].sum())
        del comp, parent
        f.drop_identifiers()  # the worker holds what it needs
        # Python-heavy work runs beside DuckDB's writes (which release the GIL):
        # the model is learnt while instance_events is written, the stuck
        # instances are explained while instances and instance_keys are.
        model = side.submit(learn, side_con, f, b, cfg, now)
        try:
            with store.transaction():
                recreate_derived(con)
                _write(con, f, b)
                wfs = model.result()
                write_model(con, wfs)
                write_key_stats(con, stats)
                verdicts = judge_sql(con, cfg, now, relation="_r_inst_src", update=False)
                explained = side.submit(stuck_table, verdicts)
                with parallel_inserts(con):  # readers order instances themselves
                    con.execute(
                        f"INSERT INTO instances SELECT {_JUDGED_COLUMNS} "
                        "FROM _r_inst_src s LEFT JOIN _r_eval e USING (instance_id)"
                    )
                insert_instance_keys(con, named(keys.result(), f.names, b.instance_id))
                result = store_stuck(con, verdicts, explained.result(), relation="_r_inst_src")
                store.set_meta(META_FINGERPRINT, fp)
                store.set_meta(META_NOW, str(now))
                store.set_meta(META_WATERMARK, str(facts.newest_ingested or 0))
                store.set_meta(META_FULL_EVENTS, str(f.n))
                store.set_meta(META_SHAPE, DERIVED_SHAPE)
        finally:
            _unregister(con, "_r_inst_src")
            con.execute("DROP TABLE IF EXISTS _r_eval")
    n = f.n
    row = con.execute(
        "SELECT count(*), coalesce(sum(n_skewed), 0), count(DISTINCT workflow) FROM instances"
    ).fetchone()
    members = (int(b.m_eid.size),)
    assert row is not None and members is not None
    out = RebuildStats(
        events=n,
        instances=int(row[0]),
        unlinked=n - int(members[0]),
        duplicates=duplicates,
        skewed=int(row[1]),
        workflows=int(row[2]),
        stuck=result.stuck,
        by_status=_status_counts(con),
        traps=[s.name for s in stats if not s.used_for_stitching],
        now_ms=now,
        seconds=time.perf_counter() - t0,
    )
    log.info("rebuild %s", kv(events=n, instances=out.instances, stuck=out.stuck, s=f"{out.seconds:.2f}"))
    return out


def judge(store: Store, config: ChoreoConfig | None = None, now_ms: int | None = None) -> int:
    """Re-judge the open (running/stuck) instances at ``now``; returns the stuck count."""
    cfg = config or ChoreoConfig()
    ensure_log_views(store)
    now = default_now(store.con) if now_ms is None else int(now_ms)
    with store.transaction() as con:
        evaluate(con, cfg, now, scope="status IN ('running', 'stuck')")
        store.set_meta(META_NOW, str(now))
        con.execute("DROP TABLE IF EXISTS _r_eval")
    row = store.con.execute("SELECT count(*) FROM stuck").fetchone()
    return int(row[0]) if row else 0


# -- live: incremental updates --------------------------------------------
def _scope_new_events(
    con: duckdb.DuckDBPyConnection, keys: Sequence[tuple[str, int, int]] | None, wm: int
) -> int:
    """``_r_new``: the events to fold in (given, or stored since the watermark)."""
    if keys is not None:
        con.register(
            "_r_keys_src",
            pa.table(
                {
                    "topic": [k[0] for k in keys],
                    "partition": pa.array([k[1] for k in keys], pa.int32()),
                    "offset": pa.array([k[2] for k in keys], pa.int64()),
                }
            ),
        )
        try:
            con.execute(
                'CREATE OR REPLACE TEMP TABLE _r_new AS SELECT e.topic, e.partition, e."offset", '
                "e.event_id, e.causation_id FROM log_events e "
                'SEMI JOIN _r_keys_src k USING (topic, partition, "offset")'
            )
        finally:
            con.unregister("_r_keys_src")
    else:
        # The same millisecond as the watermark is read again: refolding is idempotent.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _r_new AS "
            'SELECT topic, partition, "offset", event_id, causation_id FROM log_events '
            "WHERE ingested_ms >= ?",
            [wm],
        )
    row = con.execute("SELECT count(*) FROM _r_new").fetchone()
    return int(row[0]) if row else 0


def _scope_affected(con: duckdb.DuckDBPyConnection, used: list[str]) -> None:
    """``_r_aff`` (instances the new events touch) and ``_r_scope`` (all their events).

    Stored instances are closed under stitching, so the instances sharing a
    value or a causation link with a new event, plus the new events, are
    everything that can change.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_touch AS
        WITH vals AS (
            SELECT DISTINCT i.value FROM log_identifiers i
            SEMI JOIN _r_new n USING (topic, partition, "offset")
            WHERE list_contains(?, i.name)
        )
        SELECT topic, partition, "offset" FROM log_identifiers
        WHERE list_contains(?, name) AND value IN (SELECT value FROM vals)
        UNION
        SELECT topic, partition, "offset" FROM log_events
        WHERE event_id IN (SELECT causation_id FROM _r_new WHERE causation_id IS NOT NULL)
           OR causation_id IN (SELECT event_id FROM _r_new WHERE event_id IS NOT NULL)
        UNION
        SELECT topic, partition, "offset" FROM _r_new
        """,
        [used, used],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_aff AS
        SELECT DISTINCT instance_id FROM instance_events SEMI JOIN _r_touch USING (topic, partition, "offset")
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _r_scope AS
        SELECT topic, partition, "offset" FROM instance_events SEMI JOIN _r_aff USING (instance_id)
        UNION
        SELECT topic, partition, "offset" FROM _r_touch
        """
    )


def _known_workflows(con: duckdb.DuckDBPyConnection) -> KnownWorkflows:
    by_start = {
        str(t): str(w)
        for t, w in con.execute(
            "SELECT event_type, arg_max(workflow, count) FROM model_nodes WHERE is_start GROUP BY 1"
        ).fetchall()
    }
    by_member = {
        str(t): str(w)
        for t, w in con.execute(
            "SELECT event_type, arg_max(workflow, count) FROM model_nodes GROUP BY 1"
        ).fetchall()
    }
    return KnownWorkflows(by_start, by_member)


def update(
    store: Store,
    config: ChoreoConfig | None = None,
    *,
    now_ms: int | None = None,
    keys: Sequence[tuple[str, int, int]] | None = None,
) -> RebuildStats:
    """Fold newly stored events into the derived tables (see the module docstring).

    ``keys``: the (topic, partition, offset) of the new events; by default
    every event stored since the last rebuild/update. Falls back to a full
    rebuild when there is no model yet or the identifier set changed.
    """
    t0 = time.perf_counter()
    cfg = config or ChoreoConfig()
    con = store.con
    ensure_log_views(store)
    wm_text = store.get_meta(META_WATERMARK)
    if wm_text is None or store.get_meta(META_SHAPE) != DERIVED_SHAPE or not has_model(con):
        return rebuild(store, cfg, now_ms=now_ms)
    now = default_now(con) if now_ms is None else int(now_ms)
    stats = KeyStat.load_all(con)
    known_names = {s.name for s in stats}
    n_new = _scope_new_events(con, keys, int(wm_text))
    new_names = {
        str(r[0])
        for r in con.execute(
            'SELECT DISTINCT name FROM log_identifiers SEMI JOIN _r_new USING (topic, partition, "offset")'
        ).fetchall()
    }
    if not new_names <= known_names:
        # A new kind of identifier: whether it stitches is a whole-log question.
        return rebuild(store, cfg, now_ms=now_ms)
    wm = con.execute("SELECT max(ingested_ms) FROM log_events").fetchone()
    fp = fingerprint(store, cfg)
    try:
        if n_new:
            _scope_affected(con, [s.name for s in stats if s.used_for_stitching])
            f = load_frame(con, scoped=True)
            eid, link = link_keys(f, stats)
            parent = parents(f, con)
            comp, _k = components(f, eid, link, parent)
            b = build(f, comp, parent, cfg, stats, known=_known_workflows(con))
        with store.transaction():
            if n_new:
                con.execute("DELETE FROM stuck WHERE instance_id IN (SELECT instance_id FROM _r_aff)")
                con.execute(
                    "DELETE FROM instance_events WHERE instance_id IN (SELECT instance_id FROM _r_aff)"
                )
                con.execute("DELETE FROM instance_keys WHERE instance_id IN (SELECT instance_id FROM _r_aff)")
                con.execute("DELETE FROM instances WHERE instance_id IN (SELECT instance_id FROM _r_aff)")
                _write(con, f, b, with_variants=False)
                insert_instance_keys(con, instance_keys_table(con, f, b))
                con.execute("CREATE OR REPLACE TEMP TABLE _r_inst_out AS SELECT * FROM _r_inst_src")
                _variant_ranks(con)
                con.execute("INSERT INTO instances SELECT * FROM _r_inst_out")
                _unregister(con, "_r_inst_src")
            evaluate(con, cfg, now, scope="status IN ('running', 'stuck')")
            store.set_meta(META_FINGERPRINT, fp)
            store.set_meta(META_NOW, str(now))
            store.set_meta(META_WATERMARK, str(wm[0] if wm and wm[0] is not None else 0))
    finally:
        for t in ("_r_new", "_r_touch", "_r_aff", "_r_scope", "_r_inst_out", "_r_eval"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    row = con.execute(
        "SELECT count(*), coalesce(sum(n_skewed), 0), count(DISTINCT workflow), "
        "coalesce(sum(n_duplicates), 0), count(*) FILTER (WHERE status = 'stuck') FROM instances"
    ).fetchone()
    assert row is not None
    out = RebuildStats(
        events=n_new,
        instances=int(row[0]),
        unlinked=0,
        duplicates=int(row[3]),
        skewed=int(row[1]),
        workflows=int(row[2]),
        stuck=int(row[4]),
        by_status=_status_counts(con),
        traps=[s.name for s in stats if not s.used_for_stitching],
        now_ms=now,
        seconds=time.perf_counter() - t0,
        incremental=True,
    )
    log.debug("update %s", kv(new=n_new, instances=out.instances, stuck=out.stuck, s=f"{out.seconds:.3f}"))
    return out


def _variant_ranks(con: duckdb.DuckDBPyConnection) -> None:
    """Known variants keep their rank; a path not seen at the last rebuild has none yet."""
    con.execute(
        """
        UPDATE _r_inst_out SET variant = v.rank FROM (
            SELECT ie.instance_id, list(e.event_type ORDER BY ie.seq) AS path
            FROM instance_events ie JOIN log_events e USING (topic, partition, "offset")
            WHERE ie.duplicate_of_seq IS NULL AND ie.instance_id IN (SELECT instance_id FROM _r_inst_out)
            GROUP BY 1
        ) p JOIN variants v ON v.path = p.path
        WHERE p.instance_id = _r_inst_out.instance_id AND v.workflow = _r_inst_out.workflow
        """
    )


def has_model(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'model_workflows'"
    ).fetchone()
    if not row or not row[0]:
        return False
    row = con.execute("SELECT count(*) FROM model_workflows").fetchone()
    return bool(row and row[0])


class IncrementalReconstructor:
    """Keeps the derived tables current while events stream in.

    ``tick()`` folds in what was stored since the previous tick (only the
    touched instances) and re-judges the open instances at the wall clock;
    it relearns the model with a full rebuild first, and again whenever
    the log has grown by ``relearn_growth`` since the last full rebuild.
    """

    def __init__(
        self,
        store: Store,
        config: ChoreoConfig | None = None,
        *,
        relearn_growth: float = 0.25,
        now: Callable[[], int] | None = None,
    ) -> None:
        self.store = store
        self.config = config or ChoreoConfig()
        self.relearn_growth = relearn_growth
        self._now = now or (lambda: int(time.time() * 1000))

    def tick(self) -> RebuildStats:
        now = self._now()
        full = self.store.get_meta(META_FULL_EVENTS)
        row = self.store.con.execute("SELECT count(*) FROM log_events").fetchone() if full else None
        if full is None or row is None or int(row[0]) > (1 + self.relearn_growth) * max(int(full), 1):
            return rebuild(self.store, self.config, now_ms=now)
        return update(self.store, self.config, now_ms=now)


__all__ = [
    "IncrementalReconstructor",
    "RebuildStats",
    "default_now",
    "fingerprint",
    "is_stale",
    "judge",
    "rebuild",
    "update",
]
