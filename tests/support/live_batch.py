"""Live equals batch: a log fed to a store in batches, folded in by the
incremental path after each one, must leave the same derived tables as a
rebuild of the same records.

The records are copied from a source store (anything imported or appended
through the real path) batch by batch in arrival order (stored time, then
Kafka position), marked as collected live, so the watermark logic of
``update`` is exercised as ``choreo tail`` exercises it.

What is compared: everything a rebuild derives from the records given the
learned model (instances with their workflow and status, their events in
order with skew and duplicate marks, the identifier index, the stuck list).
What is not: the model itself (model_*, variants, identifier_stats, an
instance's variant rank, the learned latencies a stuck instance is measured
against, the stitching decisions: which names stitch, the fields found by
value, and the workflows, clock offsets and precedence events are named and
ordered by), which live mode relearns only when the log has grown enough. So
that everything else can be compared, the rebuild is given what the live
store learnt (``rebuild(given=...)``) and judged again with its model
(``same_model``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import learnt, rebuild, update
from choreo.reconstruct.engine.status import evaluate

Snapshot = dict[str, list[tuple[Any, ...]]]

_INSTANCE_COLUMNS = (
    "instance_id, workflow, status, label, start_ms, end_ms, n_events, n_duplicates, n_skewed, "
    "first_type, last_type, last_service, last_topic, last_partition, last_offset, list_sort(types)"
)
_QUERIES = {
    "instances": f"SELECT {_INSTANCE_COLUMNS} FROM instances ORDER BY instance_id",
    "instance_events": (
        'SELECT instance_id, topic, partition, "offset", seq, adj_ts_ms, skew_ms, parent_seq, '
        'duplicate_of_seq FROM instance_events ORDER BY topic, partition, "offset"'
    ),
    "instance_keys": "SELECT DISTINCT key_hash, name, instance_id FROM instance_keys ORDER BY ALL",
    # The verdict and its explanation's facts; not the learned latency it was
    # measured against (expected_within_ms, overdue_ms and the sentence quoting them).
    "stuck": (
        "SELECT instance_id, workflow, reason, last_type, last_service, last_topic, last_partition, "
        "last_offset, expected_types, responsible_service, silent_ms, trigger_topic, trigger_partition, "
        "trigger_offset, now_ms FROM stuck ORDER BY instance_id"
    ),
}


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def snapshot(store: Store) -> Snapshot:
    return {name: [tuple(map(_hashable, r)) for r in store.query(sql)] for name, sql in _QUERIES.items()}


def differences(live: Snapshot, batch: Snapshot, limit: int = 5) -> list[str]:
    """Readable differences, table by table (empty when equal)."""
    out: list[str] = []
    for name in _QUERIES:
        a, b = set(live[name]), set(batch[name])
        if a == b and len(live[name]) == len(batch[name]):
            continue
        only_live, only_batch = sorted(a - b, key=repr)[:limit], sorted(b - a, key=repr)[:limit]
        out.append(f"{name}: {len(a - b)} rows only live {only_live}; {len(b - a)} only batch {only_batch}")
    return out


# Arrival order: stored time, then Kafka position.
_RANK = 'row_number() OVER (ORDER BY coalesce(ts_ms, event_time_ms, 0), topic, partition, "offset") - 1'


def _copy(src: Path, dst: Store, lo: int, hi: int, ingested_ms: int) -> int:
    """Copy ``src``'s records ranked ``lo`` to ``hi`` (arrival order, exclusive)
    into ``dst`` as collected at ``ingested_ms``."""
    con = dst.con
    con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            'CREATE OR REPLACE TEMP TABLE _batch AS SELECT topic, partition, "offset" FROM '
            f'(SELECT topic, partition, "offset", {_RANK} AS r FROM src.events) WHERE r >= ? AND r < ?',
            [lo, hi],
        )
        con.execute(
            "INSERT INTO events SELECT * REPLACE ('collect:live-batch' AS source, ? AS ingested_ms) "
            'FROM src.events SEMI JOIN _batch USING (topic, partition, "offset")',
            [ingested_ms],
        )
        con.execute(
            "INSERT INTO identifiers SELECT * FROM src.identifiers "
            'SEMI JOIN _batch USING (topic, partition, "offset")'
        )
        row = con.execute("SELECT count(*) FROM _batch").fetchone()
        con.execute("DROP TABLE _batch")
        con.execute("COMMIT")
    finally:
        con.execute("DETACH src")
    return int(row[0]) if row else 0


_MODEL_TABLES = ("model_workflows", "model_nodes", "model_edges", "model_expect")


def _judge_with_model_of(store: Store, live: Path, config: ChoreoConfig, now_ms: int) -> None:
    """Replace ``store``'s learned model by ``live``'s and judge every instance again."""
    con = store.con
    con.execute(f"ATTACH '{live}' AS lm (READ_ONLY)")
    try:
        with store.transaction():
            for t in _MODEL_TABLES:
                con.execute(f"DELETE FROM {t}")
                con.execute(f"INSERT INTO {t} SELECT * FROM lm.{t}")
            evaluate(con, config, now_ms)
            con.execute("DROP TABLE IF EXISTS _r_eval")
    finally:
        con.execute("DETACH lm")


@dataclass
class LiveRun:
    batches: int
    sizes: list[int] = field(default_factory=list)
    incremental: list[bool] = field(default_factory=list)  # per batch: folded in without a rebuild
    mismatches: list[tuple[int, list[str]]] = field(default_factory=list)  # (batch, differences)


def feed_in_batches(
    source: Path,
    work: Path,
    *,
    batches: int,
    config: ChoreoConfig,
    now_ms: int,
    first_share: float = 0.0,
    check: Callable[[int], bool] = lambda i: True,
    same_model: bool = True,
) -> LiveRun:
    """Feed ``source``'s records to a fresh store in ``batches`` batches
    (the first holding ``first_share`` of them, when given), ``update`` after
    each, and compare with a rebuild of the same records where ``check(i)``."""
    work.mkdir(parents=True, exist_ok=True)
    with Store.open(source, read_only=True) as s:
        row = s.query("SELECT count(*) FROM events")[0]
    total = int(row[0])
    first = int(total * first_share)
    rest = max(1, batches - (1 if first else 0))
    bounds = [0, *([first] if first else [])]
    bounds += [first + (total - first) * (j + 1) // rest for j in range(rest)]
    run = LiveRun(batches=len(bounds) - 1)
    live_path = work / "live.duckdb"
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        with Store.open(live_path) as live:
            run.sizes.append(_copy(source, live, lo, hi, 1_000 + i))
            folded = update(live, config, now_ms=now_ms).incremental
            run.incremental.append(folded)
            if not check(i):
                continue
            got = snapshot(live)
            taught = learnt(live)
        whole = work / f"whole-{i}.duckdb"
        with Store.open(whole) as w:
            _copy(live_path, w, 0, total, 1_000 + i)
            # Stitched, named and ordered with what live mode learnt (which names
            # stitch, what was found by value, workflows, clocks, precedence), as it
            # judges with the model it learnt. (Where live mode rebuilt, it learnt
            # from these very records: a rebuild learns the same.)
            given = same_model and folded
            rebuild(w, config, now_ms=now_ms, given=taught if given else None)
            if given:
                _judge_with_model_of(w, live_path, config, now_ms)
            want = snapshot(w)
        whole.unlink()
        diff = differences(got, want)
        if diff:
            run.mismatches.append((i, diff))
    return run
