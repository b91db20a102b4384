"""Several stores read as one log: shards split by partition, overlaps."""

from __future__ import annotations

from pathlib import Path

from choreo.core.config import ChoreoConfig
from choreo.core.event_log import open_log
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log, order_saga

CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _result(
    store: Store,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    inst = store.query(
        "SELECT instance_id, workflow, status, label, n_events, n_duplicates FROM instances ORDER BY 1"
    )
    members = store.query(
        'SELECT instance_id, topic, partition, "offset", seq FROM instance_events ORDER BY 2, 3, 4'
    )
    stuck = store.query(
        "SELECT instance_id, reason, expected_types, responsible_service FROM stuck ORDER BY 1"
    )
    return inst, members, stuck


def test_shards_read_as_one_log_match_a_single_store(tmp_path: Path) -> None:
    log = Log()
    for i in range(30):
        order_saga(
            log, i, T0 + i * 1000, "stockout" if i % 7 == 2 else "ok", stop_after=3 if i == 11 else None
        )
    whole = log.store(tmp_path / "whole.duckdb")
    # Two collectors in one group: each got some partitions; partition 1 moved
    # during a rebalance, so a few of its records are in both shards.
    a, b = Log(), Log()
    for rec in log.records:
        partition, offset = rec[1], rec[2]
        (a if partition == 0 else b).records.append(rec)
        if partition == 1 and offset < 3:
            a.records.append(rec)
    shard_a, shard_b = a.store(tmp_path / "a.duckdb"), b.store(tmp_path / "b.duckdb")
    now = T0 + 600_000
    with Store.open(whole) as s:
        rebuild(s, CFG, now_ms=now)
        expected = _result(s)
    with open_log([shard_a, shard_b]) as s:
        stats = rebuild(s, CFG, now_ms=now)
        assert stats.duplicates == 0  # the overlap is the same record, not a redelivery
        assert _result(s) == expected
    # The derived tables went into the first store only; an explicit --out works too.
    with Store.open(shard_b, read_only=True) as s:
        assert s.query("SELECT count(*) FROM instances")[0][0] == 0
    with open_log([shard_a, shard_b], out=tmp_path / "out.duckdb") as s:
        rebuild(s, CFG, now_ms=now)
        assert _result(s) == expected
