"""Consumer-group behaviour: shards split partitions, new topics are picked
up, --from positions, and the services' groups are sampled read-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from choreo.collector.settings import START_LATEST, ServiceGroup
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import (
    FAST_GROUP,
    FAST_GROUP_ARGS,
    Record,
    collect_until_idle,
    produce,
    query,
    run_choreo,
    settings,
    start_collector,
    stored_keys,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka


def _orders(topic: str, n: int, start: int = 0) -> list[Record]:
    return [
        (topic, f"o-{i}".encode(), json.dumps({"type": "OrderPlaced", "orderId": f"o-{i}"}).encode(), None)
        for i in range(start, start + n)
    ]


def test_two_collectors_in_one_group_split_partitions(kafka: KafkaTarget, tmp_path: Path) -> None:
    a_topic = kafka.create_topic("a", 3)
    b_topic = kafka.create_topic("b", 3)
    regex = f"{kafka.prefix}(a|b)"
    one = start_collector(settings(kafka.bootstrap, regex, "shared"), tmp_path / "one.duckdb")
    two = start_collector(settings(kafka.bootstrap, regex, "shared"), tmp_path / "two.duckdb")
    try:
        # Both members hold partitions before anything is produced.
        wait_for(
            lambda: (
                one.progress
                and two.progress
                and one.progress[-1].partitions > 0
                and two.progress[-1].partitions > 0
                and one.progress[-1].partitions + two.progress[-1].partitions == 6
            ),
            what="both collectors assigned",
        )
        n = produce(kafka.bootstrap, _orders(a_topic, 300) + _orders(b_topic, 300))
        wait_for(lambda: one.collector.stats.stored + two.collector.stats.stored >= n, what="all stored")
    finally:
        s1, s2 = one.stop(), two.stop()
    k1, k2 = set(stored_keys(tmp_path / "one.duckdb")), set(stored_keys(tmp_path / "two.duckdb"))
    assert s1.stored > 0 and s2.stored > 0
    assert not k1 & k2
    assert len(k1) + len(k2) == n
    assert not {(t, p) for t, p, _ in k1} & {(t, p) for t, p, _ in k2}


def test_topics_created_later_are_picked_up(kafka: KafkaTarget, db_path: Path) -> None:
    first = kafka.create_topic("evt-first", 2)
    run = start_collector(
        settings(kafka.bootstrap, f"{kafka.prefix}evt-.*", "c1", metadata_refresh_ms=500), db_path
    )
    try:
        produce(kafka.bootstrap, _orders(first, 20))
        wait_for(lambda: run.collector.stats.stored >= 20, what="first topic stored")
        later = kafka.create_topic("evt-later", 2)
        produce(kafka.bootstrap, _orders(later, 30))
        wait_for(lambda: run.collector.stats.stored >= 50, what="later topic stored")
    finally:
        run.stop()
    counts = query(db_path, "SELECT topic, count(*) FROM events GROUP BY 1 ORDER BY 1")
    assert counts == [(first, 20), (later, 30)]


def test_from_time_and_from_latest(kafka: KafkaTarget, tmp_path: Path) -> None:
    topic = kafka.create_topic("timed", 2)
    base = 1_700_000_000_000
    old = [(r, base + i) for i, r in enumerate(_orders(topic, 10))]
    new = [(r, base + 3_600_000 + i) for i, r in enumerate(_orders(topic, 10, start=10))]
    p = Producer({"bootstrap.servers": kafka.bootstrap})
    for (t, k, v, _h), ts in old + new:
        p.produce(t, key=k, value=v, timestamp=ts)
    assert p.flush(30) == 0

    db = tmp_path / "time.duckdb"
    collect_until_idle(settings(kafka.bootstrap, topic, "t1", start=base + 1_800_000, until_idle=1.0), db)
    assert query(db, "SELECT min(ts_ms), count(*) FROM events") == [(base + 3_600_000, 10)]

    db2 = tmp_path / "latest.duckdb"
    run = start_collector(settings(kafka.bootstrap, topic, "t2", start=START_LATEST), db2)
    try:
        # "latest" is resolved when a partition is first fetched; markers tell
        # us when the collector reads new records on both partitions.
        marker = 0

        def positioned() -> bool:
            nonlocal marker
            marker += 1
            produce(kafka.bootstrap, [(topic, b"m", b'{"type":"Marker"}', None)], partition=marker % 2)
            rows = run.query("SELECT count(DISTINCT partition) FROM events")
            return bool(rows[0][0] == 2)

        wait_for(positioned, interval=0.1, what="collector reading both partitions")
        produce(kafka.bootstrap, _orders(topic, 5, start=100))
        wait_for(
            lambda: run.query("SELECT count(*) FROM events WHERE key <> 'm'::BLOB")[0][0] == 5,
            what="new records stored",
        )
    finally:
        run.stop()
    keys = query(db2, "SELECT key FROM events WHERE key <> 'm'::BLOB ORDER BY key")
    assert {bytes(k[0]) for k in keys} == {f"o-{i}".encode() for i in range(100, 105)}


def test_service_groups_are_sampled_read_only(kafka: KafkaTarget, db_path: Path) -> None:
    orders = kafka.create_topic("orders", 2)
    produce(kafka.bootstrap, _orders(orders, 40))
    # A "service" that has read part of the topic and committed.
    svc = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": f"{kafka.prefix}billing"})
    svc.commit(offsets=[TopicPartition(orders, 0, 3)], asynchronous=False)
    svc.close()
    services = (
        ServiceGroup("billing", f"{kafka.prefix}billing", (orders,)),
        ServiceGroup("audit", f"{kafka.prefix}audit", ()),  # consumes: unknown, never committed
    )
    run = start_collector(
        settings(kafka.bootstrap, orders, "c1", services=services, group_sample_interval=0.2), db_path
    )
    try:
        wait_for(lambda: run.collector.stats.stored >= 40, what="stored")
        # Caught up: the progress line's lag (high watermarks - position) is known and zero.
        wait_for(lambda: run.progress and run.progress[-1].lag == 0, what="lag 0 reported")
        wait_for(
            lambda: run.query("SELECT count(*) FROM group_offsets")[0][0] == 2,
            what="group offsets sampled",
        )
    finally:
        run.stop()
    rows = query(
        db_path,
        "SELECT group_id, topic, partition, committed_offset, high_watermark FROM group_offsets ORDER BY 3",
    )
    hw = dict(query(db_path, 'SELECT partition, max("offset") + 1 FROM events GROUP BY 1'))
    g = f"{kafka.prefix}billing"
    assert rows == [(g, orders, 0, 3, hw[0]), (g, orders, 1, None, hw[1])]
    consumers = query(db_path, "SELECT group_id, service, topic, source FROM topic_consumers")
    assert consumers == [(g, "billing", orders, "config")]
    # Sampling never committed anything for the service's group.
    check = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": g, **FAST_GROUP})
    committed = check.committed([TopicPartition(orders, 0), TopicPartition(orders, 1)], timeout=10)
    check.close()
    assert [tp.offset for tp in committed] == [3, -1001]


def test_default_group_is_one_per_store(kafka: KafkaTarget, tmp_path: Path) -> None:
    """Without `-g`, two collections on one host into two stores each get every
    record (one group per host would have left the second with nothing: the
    first one's commits), and a collection into the same store again resumes
    where it stopped."""
    topic = kafka.create_topic("orders", 2)
    n = produce(kafka.bootstrap, _orders(topic, 40))
    common = ("-b", kafka.bootstrap, "-t", topic, "--from", "earliest", "--until-idle", "1", *FAST_GROUP_ARGS)
    for name in ("one", "two", "one"):
        done = run_choreo("collect", *common, "--db", str(tmp_path / f"{name}.duckdb"))
        assert done.returncode == 0, done.stderr
    assert len(stored_keys(tmp_path / "one.duckdb")) == n
    assert len(stored_keys(tmp_path / "two.duckdb")) == n
    later = produce(kafka.bootstrap, _orders(topic, 5, start=40))
    done = run_choreo("collect", *common, "--db", str(tmp_path / "one.duckdb"))
    assert done.returncode == 0, done.stderr
    assert len(stored_keys(tmp_path / "one.duckdb")) == n + later
