"""Brokers going away mid-collection: the collector keeps retrying, says so,
and stores every record exactly once when they are back."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import produce, settings, start_collector, stored_keys
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka


def _value(i: int) -> bytes:
    return json.dumps({"type": "OrderPlaced", "orderId": f"o-{i}"}).encode()


@pytest.mark.parametrize("down", [[1, 2, 3], [2]], ids=["all-brokers", "one-broker"])
def test_brokers_down_and_up_lose_and_double_nothing(
    kafka3: KafkaTarget, db_path: Path, caplog: pytest.LogCaptureFixture, down: list[int]
) -> None:
    cluster = kafka3.require_embedded()
    topic = kafka3.create_topic("orders", 6)  # leaders spread over the three brokers
    caplog.set_level(logging.WARNING, logger="collector")
    run = start_collector(settings(kafka3.bootstrap, topic, "c1"), db_path)
    producer = Producer({"bootstrap.servers": kafka3.bootstrap, "linger.ms": 5, "message.timeout.ms": 120000})
    try:
        produce(kafka3.bootstrap, [(topic, f"o-{i}".encode(), _value(i), None) for i in range(300)])
        wait_for(lambda: run.collector.stats.stored >= 300, what="first records stored")

        for b in down:
            cluster.broker_down(b)
        # Records produced while brokers are down reach them once they are back.
        for i in range(300, 600):
            producer.produce(topic, key=f"o-{i}".encode(), value=_value(i))
        producer.poll(0)
        wait_for(lambda: run.collector.stats.outages >= 1, timeout=60, what="the collector noticed")
        wait_for(
            lambda: any(p.connected is False for p in run.progress) or len(down) < 3,
            what="progress shows disconnected",
        )
        for b in down:
            cluster.broker_up(b)
        assert producer.flush(60) == 0

        # Generous deadlines: rejoining the group after the outage is slow on a loaded machine.
        try:
            wait_for(
                lambda: run.query("SELECT count(*) FROM events")[0][0] >= 600, timeout=120, what="all stored"
            )
            wait_for(lambda: "connection restored" in caplog.text, timeout=60, what="recovery reported")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; collector log: {caplog.text[-3000:]}") from None
    finally:
        stats = run.stop()
    keys = stored_keys(db_path)
    assert len(keys) == len(set(keys)) == 600
    assert stats.stored == 600
    assert "kafka connection problem" in caplog.text
