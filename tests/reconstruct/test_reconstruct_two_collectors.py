"""Two collectors in one consumer group share the partitions, each writing its
own store; reconstructed together they give exactly what one collector gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from choreo.core.config import ChoreoConfig
from choreo.core.event_log import open_log
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import settings, start_collector
from tests.support.saga_builder import T0, Log, order_saga
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka
CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _produce(bootstrap: str, records: list[tuple[str, bytes | None, bytes | None, int]]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for topic, key, value, ts in records:
        p.produce(topic, key=key, value=value, timestamp=ts)
    assert p.flush(30) == 0


def _result(s: Store) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        s.query(
            "SELECT instance_id, workflow, status, label, n_events, n_duplicates FROM instances ORDER BY 1"
        ),
        s.query('SELECT instance_id, topic, partition, "offset", seq FROM instance_events ORDER BY 2, 3, 4'),
        s.query("SELECT instance_id, reason, expected_types, responsible_service FROM stuck ORDER BY 1"),
    )


def test_two_collectors_in_one_group(kafka: KafkaTarget, tmp_path: Path) -> None:
    log = Log()
    for i in range(30):
        order_saga(
            log, i, T0 + i * 1000, "stockout" if i % 7 == 3 else "ok", stop_after=2 if i == 5 else None
        )
    topics = {r[0] for r in log.records}
    names = {t: kafka.create_topic(t, 4) for t in sorted(topics)}
    # Producers stamp their events (create time): the saga's own timing.
    records = [(names[r[0]], r[4], r[6], r[3]) for r in log.records]
    pattern = f"^{kafka.prefix}.*"
    shared = kafka.prefix + "shared"
    a = start_collector(settings(kafka.bootstrap, pattern, shared), tmp_path / "a.duckdb")
    b = start_collector(settings(kafka.bootstrap, pattern, shared), tmp_path / "b.duckdb")
    one = start_collector(settings(kafka.bootstrap, pattern, kafka.prefix + "alone"), tmp_path / "one.duckdb")
    try:
        # Both members of the shared group hold partitions before anything is produced.
        wait_for(
            lambda: a.progress and b.progress and a.progress[-1].partitions and b.progress[-1].partitions,
            60,
            what="both collectors assigned",
        )
        _produce(kafka.bootstrap, records)
        n = len(records)

        def stored(c: Any) -> int:
            return int(c.query("SELECT count(*) FROM events")[0][0])

        wait_for(lambda: stored(a) + stored(b) >= n and stored(one) == n, 60, what="all records stored")
        split = (stored(a), stored(b))
    finally:
        for c in (a, b, one):
            c.stop()
    assert min(split) > 0, "each collector got some partitions"
    now = T0 + 600_000
    with Store.open(tmp_path / "one.duckdb") as s:
        rebuild(s, CFG, now_ms=now)
        expected = _result(s)
    with open_log([tmp_path / "a.duckdb", tmp_path / "b.duckdb"]) as s:
        rebuild(s, CFG, now_ms=now)
        assert _result(s) == expected
    assert len(expected[0]) == 30 and len(expected[2]) == 1
