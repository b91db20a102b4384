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

Each of these runs a declared sequence of stages (``REBUILD``, ``UPDATE_FOLD``,
... below; the machinery is in ``stages.py``, what each stage does in
``steps.py``): every stage names the slots and temporary relations it needs
and gives, and the runner frees what no later stage needs.

The heavy lifting is in DuckDB (joins, aggregation, percentiles) and numpy/
scipy (connected components, causal ordering); no per-event Python loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb

from choreo.core.config import ChoreoConfig
from choreo.core.event_log import ensure_log_views
from choreo.core.logsetup import kv
from choreo.core.schema import (
    DERIVED_SHAPE,
    META_FINGERPRINT,
    META_FULL_EVENTS,
    META_NOW,
    META_SHAPE,
    META_WATERMARK,
)
from choreo.core.store import Store
from choreo.reconstruct.engine import steps as s
from choreo.reconstruct.engine.instances import KnownWorkflows
from choreo.reconstruct.engine.judging import judge
from choreo.reconstruct.engine.scope import new_names
from choreo.reconstruct.engine.stages import Pipeline, Slot, Stage, Work, working
from choreo.reconstruct.engine.stored_order import StoredOrder
from choreo.reconstruct.engine.write import recreate_derived
from choreo.reconstruct.query.asof import LogFacts, fingerprint, fingerprint_of, is_stale, log_facts, now_of
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


# -- "now" and staleness: one notion, defined in the query layer ---------
def default_now(con: duckdb.DuckDBPyConnection) -> int:
    """Newest event time for imported logs, wall clock otherwise."""
    return now_of(log_facts(con)).ms


# -- the stages, in order ---------------------------------------------------
FACTS = Slot[LogFacts]("facts", "the raw log's size, newest times, origin")
FINGERPRINT = Slot[str]("fingerprint", "the raw log and config the derived tables are from")


def _stamp(w: Work) -> None:
    facts = w.get(FACTS)
    w.store.set_meta(META_FINGERPRINT, w.get(FINGERPRINT))
    w.store.set_meta(META_NOW, str(w.now_ms))
    w.store.set_meta(META_WATERMARK, str(facts.newest_ingested or 0))
    w.store.set_meta(META_FULL_EVENTS, str(w.get(s.TALLY).events))
    w.store.set_meta(META_SHAPE, DERIVED_SHAPE)


def _stamp_update(w: Work) -> None:
    w.store.set_meta(META_FINGERPRINT, w.get(FINGERPRINT))
    w.store.set_meta(META_NOW, str(w.now_ms))
    w.store.set_meta(META_WATERMARK, str(w.get(FACTS).newest_ingested or 0))


# Beside stages run in a worker on their own cursor while the next ones go
# on: causation links while the identifiers are analysed; the instance_keys
# rows while the instances are built and written; the model while
# instance_events is written; the stuck explanations (plain Python) while
# instances and instance_keys are.
# What identifiers are and which stitch, learnt from the log ...
_LEARN_KEYS = (
    Stage("load", s.load, gives=(s.LOADED,)),
    Stage("discover", s.discover, needs=(s.LOADED,), gives=(s.FOUND, s.FRAME)),
    Stage("causation", s.causation, needs=(s.FRAME,), gives=(s.PARENT,), beside=True),
    Stage("values", s.values, needs=(s.FRAME,), gives=(s.VALUES,)),
    Stage("key-stats", s.key_stats, needs=(s.FRAME, s.VALUES, s.FOUND), gives=(s.KEY_STATS,)),
)
# ... or given (what live mode learnt last: see ``rebuild(given=...)``).
_GIVEN_KEYS = (
    Stage("load", s.load, gives=(s.LOADED,)),
    Stage("found", s.found_given, needs=(s.LOADED, s.KEY_STATS), gives=(s.FRAME,)),
    Stage("causation", s.causation, needs=(s.FRAME,), gives=(s.PARENT,), beside=True),
    Stage("values", s.values_known, needs=(s.FRAME, s.KEY_STATS), gives=(s.VALUES,)),
)
_LEARN_ORDER = Stage(
    "build",
    s.build_instances,
    needs=(s.STITCHED, s.VALUES, s.COMP, s.PARENT, s.KEY_STATS),
    gives=(s.BUILT, s.TALLY, s.EVENTS),
)
_GIVEN_ORDER = Stage(
    "build",
    s.build_known,
    needs=(s.STITCHED, s.VALUES, s.COMP, s.PARENT, s.KEY_STATS, s.KNOWN),
    gives=(s.BUILT, s.TALLY, s.EVENTS),
)
_STORE = (
    Stage("aside", s.aside, needs=(s.FRAME, s.BUILT, s.COMP, s.LINKS, s.ASIDE_LINKS), gives=(s.ASIDE,)),
    Stage("learn", s.learn_model, needs=(s.EVENTS, s.BUILT), gives=(s.MODEL,), beside=True),
    Stage(
        "type-links",
        s.learn_type_links,
        needs=(s.STITCHED, s.BUILT, s.COMP, s.LINKS, s.PARENT),
        gives=(s.TYPE_LINKS,),
    ),
    Stage(
        "store-instances",
        s.store_instances,
        needs=(s.EVENTS, s.BUILT),
        gives=(s.BUILT_INSTANCES,),
        writes=True,
    ),
    Stage(
        "store-model",
        s.store_model,
        needs=(s.MODEL, s.TYPE_LINKS, s.KEY_STATS, s.EVENTS, s.BUILT),
        writes=True,
    ),
    Stage("judge", s.judge_built, needs=(s.BUILT_INSTANCES,), gives=(s.VERDICTS, s.EVAL), writes=True),
    Stage("explain", s.explain, needs=(s.VERDICTS,), gives=(s.STUCK_ROWS,), beside=True, writes=True),
    Stage("store-judged", s.store_judged, needs=(s.BUILT_INSTANCES, s.EVAL), writes=True),
    Stage("store-index", s.store_index, needs=(s.EVENTS, s.BUILT, s.KEY_ROWS), writes=True),
    Stage("store-aside", s.store_aside, needs=(s.ASIDE,), writes=True),
    Stage(
        "store-stuck",
        s.store_stuck_rows,
        needs=(s.VERDICTS, s.STUCK_ROWS, s.BUILT_INSTANCES),
        gives=(s.JUDGED,),
        writes=True,
    ),
    Stage("stamp", _stamp, needs=(FACTS, FINGERPRINT, s.TALLY), writes=True),
)


def _stitch_and_store(build: Stage) -> tuple[Stage, ...]:
    return (
        Stage("links", s.links, needs=(s.FRAME, s.VALUES, s.KEY_STATS), gives=(s.LINKS, s.ASIDE_LINKS)),
        Stage("stitch", s.stitch, needs=(s.FRAME, s.LINKS, s.PARENT), gives=(s.COMP, s.STITCHED)),
        Stage("index", s.index, needs=(s.FRAME, s.COMP), gives=(s.KEY_ROWS,), beside=True),
        build,
        *_STORE,
    )


REBUILD = Pipeline(
    "rebuild",
    _LEARN_KEYS + _stitch_and_store(_LEARN_ORDER),
    inputs=(FACTS, FINGERPRINT),
    keeps=(s.KEY_STATS, s.JUDGED, s.TALLY),
)
REBUILD_GIVEN = Pipeline(
    "rebuild-given",
    _GIVEN_KEYS + _stitch_and_store(_GIVEN_ORDER),
    inputs=(FACTS, FINGERPRINT, s.KEY_STATS, s.KNOWN),
    keeps=(s.KEY_STATS, s.JUDGED, s.TALLY),
)

# Live: the new events first; whether they can be folded in is decided on them.
UPDATE_SCOPE = Pipeline(
    "update-scope",
    (Stage("new-events", s.scope_new, needs=(s.NEW_KEYS, s.WATERMARK), gives=(s.NEW, s.N_NEW)),),
    inputs=(s.NEW_KEYS, s.WATERMARK),
    keeps=(s.NEW, s.N_NEW),
)

UPDATE_FOLD = Pipeline(
    "update",
    (
        Stage(
            "affected",
            s.scope_affected,
            needs=(s.NEW, s.STITCH_NAMES, s.KEY_STATS),
            gives=(s.TOUCH, s.AFFECTED, s.SCOPE),
        ),
        Stage("load", s.load_scope, needs=(s.SCOPE,), gives=(s.LOADED,)),
        Stage("found", s.found_known, needs=(s.LOADED, s.KEY_STATS, s.SCOPE), gives=(s.FRAME,)),
        Stage("values", s.values_known, needs=(s.FRAME, s.KEY_STATS), gives=(s.VALUES,)),
        Stage("links", s.links, needs=(s.FRAME, s.VALUES, s.KEY_STATS), gives=(s.LINKS, s.ASIDE_LINKS)),
        Stage("causation", s.causation, needs=(s.FRAME,), gives=(s.PARENT,)),
        Stage("stitch", s.stitch, needs=(s.FRAME, s.LINKS, s.PARENT), gives=(s.COMP, s.STITCHED)),
        Stage(
            "build",
            s.build_known,
            needs=(s.STITCHED, s.VALUES, s.COMP, s.PARENT, s.KEY_STATS, s.KNOWN),
            gives=(s.BUILT, s.TALLY, s.EVENTS),
        ),
        Stage("aside", s.aside, needs=(s.FRAME, s.BUILT, s.COMP, s.LINKS, s.ASIDE_LINKS), gives=(s.ASIDE,)),
        Stage(
            "replace-affected",
            s.replace_affected,
            needs=(s.AFFECTED, s.SCOPE, s.STITCHED, s.BUILT, s.ASIDE),
            gives=(s.BUILT_INSTANCES, s.REPLACED),
            writes=True,
        ),
        Stage("judge-open", s.judge_open, gives=(s.JUDGED, s.EVAL), writes=True),
        Stage("stamp", _stamp_update, needs=(FACTS, FINGERPRINT), writes=True),
    ),
    inputs=(s.NEW, s.STITCH_NAMES, s.KEY_STATS, s.KNOWN, FACTS, FINGERPRINT),
    keeps=(s.JUDGED,),
)

UPDATE_JUDGE = Pipeline(
    "update-judge",
    (
        Stage("judge-open", s.judge_open, gives=(s.JUDGED, s.EVAL), writes=True),
        Stage("stamp", _stamp_update, needs=(FACTS, FINGERPRINT), writes=True),
    ),
    inputs=(FACTS, FINGERPRINT),
    keeps=(s.JUDGED,),
)


def _status_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        str(st): int(n)
        for st, n in con.execute("SELECT status, count(*) FROM instances GROUP BY 1 ORDER BY 1").fetchall()
    }


def rebuild(
    store: Store,
    config: ChoreoConfig | None = None,
    *,
    now_ms: int | None = None,
    given: Learnt | None = None,
) -> RebuildStats:
    """Fill every derived table from the raw events (see the module docstring).

    ``given``: stitch with these decisions (which names stitch, fields found
    by value, numeric namespaces), and name workflows and order events with
    these workflows, clock offsets and precedence, instead of learning them
    from the log: live mode folds new events in with what it learnt at its
    last rebuild, and a rebuild given the same gives the same tables."""
    t0 = time.perf_counter()
    cfg = config or ChoreoConfig()
    con = store.con
    ensure_log_views(store)
    facts = log_facts(con)
    now = now_of(facts, now_ms).ms
    with working(store, cfg, now) as w:
        w.put(FACTS, facts)
        w.put(FINGERPRINT, fingerprint_of(store, cfg, facts))
        if given is None:
            REBUILD.run(w)
        else:
            w.put(s.KEY_STATS, given.key_stats)
            w.put(s.KNOWN, given.known)
            REBUILD_GIVEN.run(w)
        stats, tally, judged = w.get(s.KEY_STATS), w.get(s.TALLY), w.get(s.JUDGED)
    row = con.execute(
        "SELECT count(*), coalesce(sum(n_skewed), 0), count(DISTINCT workflow) FROM instances"
    ).fetchone()
    assert row is not None
    out = RebuildStats(
        events=tally.events,
        instances=int(row[0]),
        unlinked=tally.events - tally.members,
        duplicates=tally.duplicates,
        skewed=int(row[1]),
        workflows=int(row[2]),
        stuck=judged.stuck,
        by_status=_status_counts(con),
        traps=[k.name for k in stats if not k.used_for_stitching],
        now_ms=now,
        seconds=time.perf_counter() - t0,
    )
    log.info(
        "rebuild %s", kv(events=out.events, instances=out.instances, stuck=out.stuck, s=f"{out.seconds:.2f}")
    )
    return out


# -- live: incremental updates --------------------------------------------
def _known_workflows(con: duckdb.DuckDBPyConnection) -> KnownWorkflows:
    by_member = {
        str(t): str(wf)
        for t, wf in con.execute(
            "SELECT event_type, arg_max(workflow, count) FROM model_nodes GROUP BY 1"
        ).fetchall()
    }
    return KnownWorkflows(by_member, StoredOrder.load(con))


@dataclass(frozen=True)
class Learnt:
    """What a store's last rebuild learnt and live updates go by: the
    stitching decisions, and the workflows, clock offsets and precedence."""

    key_stats: list[KeyStat]
    known: KnownWorkflows


def learnt(store: Store) -> Learnt:
    """What ``store``'s last rebuild learnt (see ``rebuild(given=...)``)."""
    return Learnt(KeyStat.load_all(store.con), _known_workflows(store.con))


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
    with working(store, cfg, now) as w:
        w.put(s.NEW_KEYS, keys)
        w.put(s.WATERMARK, int(wm_text))
        UPDATE_SCOPE.run(w)
        n_new = w.get(s.N_NEW)
        if not new_names(w, s.NEW) <= {k.name for k in stats}:
            # A new kind of identifier: whether it stitches is a whole-log question.
            w.close()
            return rebuild(store, cfg, now_ms=now_ms)
        facts = log_facts(con)
        w.put(FACTS, facts)
        w.put(FINGERPRINT, fingerprint_of(store, cfg, facts))
        if n_new:
            w.put(s.STITCH_NAMES, [k.name for k in stats if k.used_for_stitching])
            w.put(s.KEY_STATS, stats)
            w.put(s.KNOWN, _known_workflows(con))
            UPDATE_FOLD.run(w)
        else:
            UPDATE_JUDGE.run(w)
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
        traps=[k.name for k in stats if not k.used_for_stitching],
        now_ms=now,
        seconds=time.perf_counter() - t0,
        incremental=True,
    )
    log.debug("update %s", kv(new=n_new, instances=out.instances, stuck=out.stuck, s=f"{out.seconds:.3f}"))
    return out


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
    touched instances) and re-judges the open instances at "now"; it
    relearns the model with a full rebuild first, and again whenever the
    log has grown by ``relearn_growth`` since the last full rebuild (so a
    model learnt from the first few events of a live run does not stay).
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

    def due_for_relearning(self) -> bool:
        full = self.store.get_meta(META_FULL_EVENTS)
        if full is None:
            return True
        row = self.store.con.execute("SELECT count(*) FROM log_events").fetchone()
        return row is None or int(row[0]) > (1 + self.relearn_growth) * max(int(full), 1)

    def tick(self, now_ms: int | None = None) -> RebuildStats:
        now = self._now() if now_ms is None else int(now_ms)
        ensure_log_views(self.store)
        if self.due_for_relearning():
            return rebuild(self.store, self.config, now_ms=now)
        return update(self.store, self.config, now_ms=now)


__all__ = [
    "IncrementalReconstructor",
    "Learnt",
    "RebuildStats",
    "default_now",
    "fingerprint",
    "is_stale",
    "judge",
    "learnt",
    "rebuild",
    "recreate_derived",
    "update",
]
