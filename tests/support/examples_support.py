"""Helpers for the example-service tests: run a scenario's services against
a cluster while choreo's collector taps it, and compare with the ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from choreo.core.progress import CollectStats
from choreo.core.store import Store
from choreo.demo.kafka_driver import LiveRun, LiveSettings
from choreo.demo.scenario import PARTITIONS, Scenario
from choreo.demo.services_toml import demo_config
from choreo.demo.tap import Tap
from tests.conftest import KafkaTarget

Coords = tuple[str, int, int]


@dataclass
class Collected:
    truth: dict[str, Any]
    stats: CollectStats
    prefix: str
    run: LiveRun


def prepare_topics(kafka: KafkaTarget, scenario: Scenario) -> str:
    """Create the scenario's topics; returns the name prefix to use (empty on the embedded cluster)."""
    if kafka.cluster is not None:
        for t in scenario.topics():
            kafka.cluster.create_topic(t, PARTITIONS)
        return ""
    for t in scenario.topics():
        kafka.create_topic(t, PARTITIONS)
    return kafka.prefix


def run_and_collect(kafka: KafkaTarget, scenario: Scenario, db_path: Path, timeout: float = 60) -> Collected:
    """Run the services until nothing is left to do, collecting everything they produced."""
    prefix = prepare_topics(kafka, scenario)
    config = demo_config(scenario.choreographies(), compressed_time=True)
    topics = [prefix + t for t in scenario.topics()]
    run = LiveRun(scenario, LiveSettings(kafka.bootstrap, prefix=prefix))
    with Store.open(db_path) as store:
        tap = Tap(kafka.bootstrap, topics, store, config, group=prefix + "choreo-test", prefix=prefix)
        tap.start()
        run.start()
        try:
            assert run.wait("quiescent", timeout), "the example services did not settle"
            assert tap.wait_for(run.truth.n_records(), timeout), "the collector did not read every record"
        finally:
            stats = tap.stop()
            run.stop()
    return Collected(run.truth_json(), stats, prefix, run)


def stored_rows(db_path: Path) -> dict[Coords, dict[str, Any]]:
    with Store.open(db_path, read_only=True) as store:
        rows = store.query(
            'SELECT topic, partition, "offset", ts_ms, event_type, service, event_id, causation_id, '
            "trace_id, payload, payload_kind FROM events"
        )
        ids = store.query('SELECT topic, partition, "offset", name, value FROM identifiers')
    out: dict[Coords, dict[str, Any]] = {}
    names = ("ts", "type", "service", "event_id", "causation_id", "trace_id", "payload", "kind")
    for r in rows:
        out[(r[0], r[1], r[2])] = dict(zip(names, r[3:], strict=True)) | {"ids": {}}
    for t, p, o, name, value in ids:
        out[(t, p, o)]["ids"].setdefault(name, set()).add(value)
    return out


def truth_coords(truth: dict[str, Any]) -> dict[Coords, dict[str, Any]]:
    return {(r["topic"], r["partition"], r["offset"]): r for r in truth["records"]}


def assert_stored_once(truth: dict[str, Any], db_path: Path) -> dict[Coords, dict[str, Any]]:
    """Every produced record is stored, once, as what it is; returns the stored rows."""
    stored = stored_rows(db_path)
    expected = truth_coords(truth)
    assert len(expected) == truth["counts"]["records"]
    assert set(stored) == set(expected)
    with Store.open(db_path, read_only=True) as store:
        assert store.count_events() == len(expected)
    for coords, rec in expected.items():
        row = stored[coords]
        assert row["ts"] == rec["ts"], (coords, row["ts"], rec["ts"])
        if rec["poison"] is None:
            assert row["type"] == rec["type"], coords
            assert row["service"] == rec["service"], coords
    return stored


def instance_ids(row: dict[str, Any]) -> set[str]:
    return {v for values in row["ids"].values() for v in values}


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """A group's committed offsets on a topic (read-only: joins nothing)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
    finally:
        c.close()


def high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "choreo-test-watermarks"})
    try:
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)
        }
    finally:
        c.close()
