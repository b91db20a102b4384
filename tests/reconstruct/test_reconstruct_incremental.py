"""Live mode: new events update only the instances they touch, and give the
same result as rebuilding everything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import IncrementalReconstructor, rebuild, update
from tests.support.saga_builder import T0, Log, order_saga

CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _append(db: Path, records: list[Any]) -> None:
    batch = EventBatch(Extractor(), "collect:test")
    for topic, partition, offset, ts, key, headers, payload in records:
        batch.add(topic, partition, offset, ts, 1, key, headers, payload)
    with Store.open(db) as s:
        s.append(*batch.tables())


def _snapshot(s: Store) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        s.query(
            "SELECT instance_id, workflow, status, label, start_ms, end_ms, n_events, n_duplicates, "
            "n_skewed, last_type, types FROM instances ORDER BY 1"
        ),
        s.query(
            'SELECT instance_id, topic, partition, "offset", seq, adj_ts_ms, skew_ms, parent_seq, '
            "duplicate_of_seq FROM instance_events ORDER BY 2, 3, 4"
        ),
        s.query("SELECT instance_id, reason, expected_types, responsible_service FROM stuck ORDER BY 1"),
    )


def test_update_matches_a_full_rebuild(tmp_path: Path) -> None:
    log = Log(source="collect:test")
    for i in range(30):
        order_saga(log, i, T0 + i * 2000, "declined" if i % 9 == 4 else "ok")
    # An order whose first two events arrive now and the rest later.
    order_saga(log, 40, T0 + 80_000, "ok")
    first, head, tail = log.records[:-6], log.records[-6:-4], log.records[-4:]
    # Later: new orders (one cut short), the rest of that order, a redelivered
    # event, and a ShipmentDelivered that only carries its shipment id.
    for i in range(30, 36):
        order_saga(log, i, T0 + i * 2000, "ok", stop_after=3 if i == 33 else None)
    second = log.records[len(first) + 6 :]
    db, whole = tmp_path / "live.duckdb", tmp_path / "whole.duckdb"
    _append(db, first + head)
    now = T0 + 10 * 60_000
    with Store.open(db) as s:
        rebuild(s, CFG, now_ms=now)
        before = {r[0]: r for r in _snapshot(s)[0]}
    dup = first[3]
    redelivered = (dup[0], dup[1], 1000 + dup[2], dup[3] + 40, dup[4], dup[5], dup[6])
    _append(db, [*second, *tail, redelivered])
    with Store.open(db) as s:
        stats = update(s, CFG, now_ms=now)
        assert stats.incremental
        live = _snapshot(s)
    _append(whole, first + head + second + tail + [redelivered])
    with Store.open(whole) as s:
        rebuild(s, CFG, now_ms=now)
        assert _snapshot(s) == live
    # Untouched instances kept their rows.
    after = {r[0]: r for r in live[0]}
    untouched = [k for k in before if k in after and before[k] == after[k]]
    assert len(untouched) >= 25


def test_update_with_explicit_keys_and_nothing_new(tmp_path: Path) -> None:
    log = Log(source="collect:test")
    for i in range(10):
        order_saga(log, i, T0 + i * 2000, "ok")
    db = tmp_path / "s.duckdb"
    _append(db, log.records[:-1])
    with Store.open(db) as s:
        rebuild(s, CFG, now_ms=T0 + 18_600)
        assert s.query("SELECT status FROM instances WHERE label = 'orderId=ord-9'") == [("running",)]
    _append(db, log.records[-1:])
    last = log.records[-1]
    with Store.open(db) as s:
        update(s, CFG, now_ms=T0 + 18_600, keys=[(last[0], last[1], last[2])])
        assert s.query("SELECT status FROM instances WHERE label = 'orderId=ord-9'") == [("completed",)]
        # Nothing new: only the open instances are re-judged.
        stats = update(s, CFG, now_ms=T0 + 60_000, keys=[])
        assert stats.events == 0 and stats.instances == 10


def test_live_reconstructor_turns_waiting_instances_stuck(tmp_path: Path) -> None:
    log = Log(source="collect:test")
    for i in range(20):
        order_saga(log, i, T0 + i * 2000, "ok")
    order_saga(log, 20, T0 + 40_000, "ok", stop_after=2)
    db = tmp_path / "s.duckdb"
    _append(db, log.records)
    clock = [T0 + 40_300]
    with Store.open(db) as s:
        live = IncrementalReconstructor(s, CFG, now=lambda: clock[0])
        assert live.tick().stuck == 0  # first tick: full rebuild
        clock[0] += 60_000
        stats = live.tick()
        assert stats.incremental and stats.stuck == 1
