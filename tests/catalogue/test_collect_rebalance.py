"""Promise: a rebalance loses nothing, with either rebalance protocol: two
collectors in one group store every record between them (issue 15,
finding 7: with `-X partition.assignment.strategy=cooperative-sticky` the
first collector forgot the partitions it kept when the second one joined).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import (
    Record,
    collect_until_idle,
    produce,
    query,
    settings,
    start_collector,
    stored_keys,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka


def _orders(topic: str, first: int, n: int) -> list[Record]:
    return [
        (topic, f"o-{i}".encode(), json.dumps({"type": "OrderPlaced", "orderId": f"o-{i}"}).encode(), None)
        for i in range(first, first + n)
    ]


@pytest.mark.parametrize("strategy", ["cooperative-sticky", "range"])
def test_second_collector_joining_loses_nothing(kafka: KafkaTarget, tmp_path: Path, strategy: str) -> None:
    topic = kafka.create_topic(f"rb-{strategy}", 6)
    group = f"{kafka.prefix}{strategy}"

    conf = {"partition.assignment.strategy": strategy}
    one = start_collector(settings(kafka.bootstrap, topic, group, extra=conf), tmp_path / "one.duckdb")
    two = None
    try:
        wait_for(lambda: one.progress and one.progress[-1].partitions == 6, what="first collector assigned")
        produce(kafka.bootstrap, _orders(topic, 0, 600))
        wait_for(lambda: one.collector.stats.stored >= 600, what="first records stored")
        two = start_collector(settings(kafka.bootstrap, topic, group, extra=conf), tmp_path / "two.duckdb")
        wait_for(
            lambda: (
                bool(two.progress)
                and two.progress[-1].partitions > 0
                and one.progress[-1].partitions + two.progress[-1].partitions == 6
            ),
            what="the partitions split between both",
        )
        produce(kafka.bootstrap, _orders(topic, 600, 1200))
        wait_for(
            lambda: one.collector.stats.consumed + two.collector.stats.consumed >= 1800,
            timeout=60,
            what="every record read by one of them",
        )
    finally:
        one.stop()
        if two is not None:
            two.stop()
    keys = set(stored_keys(tmp_path / "one.duckdb")) | set(stored_keys(tmp_path / "two.duckdb"))
    assert len(keys) == 1800


def test_cooperative_from_a_time(kafka: KafkaTarget, db_path: Path) -> None:
    """--from TIME positions the partitions inside the assignment callback:
    incrementally under the cooperative protocol."""
    topic = kafka.create_topic("coop-timed", 2)
    base = 1_700_000_000_000
    p = Producer({"bootstrap.servers": kafka.bootstrap})
    for i, (t, k, v, _h) in enumerate(_orders(topic, 0, 20)):
        p.produce(t, key=k, value=v, timestamp=base + (3_600_000 if i >= 10 else 0) + i)
    assert p.flush(30) == 0
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    s = settings(kafka.bootstrap, topic, "coop-t", start=base + 1_800_000, until_idle=1.0, extra=conf)
    assert collect_until_idle(s, db_path).stopped_by == "idle"
    assert query(db_path, "SELECT min(ts_ms), count(*) FROM events") == [(base + 3_600_010, 10)]
