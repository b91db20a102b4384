"""Promise: `collect --until-idle` stops with exit 0 only when it has caught up
(its partitions read to their high watermarks); no partitions or no cluster
is not idle, but a one-line error (issue 15, finding 6).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from choreo.core.errors import KafkaUnavailableError
from tests.conftest import KafkaTarget
from tests.support.catalogue_helpers import assert_one_line
from tests.support.collect_helpers import (
    choreo_cmd,
    produce,
    query,
    run_choreo,
    settings,
    start_collector,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka

# A session long enough that a killed member holds its partitions for a while.
SLOW_GROUP = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}


def _records(topic: str, first: int, n: int) -> list[tuple[str, bytes, bytes, None]]:
    return [
        (topic, f"o-{i}".encode(), json.dumps({"type": "OrderPlaced", "orderId": f"o-{i}"}).encode(), None)
        for i in range(first, first + n)
    ]


def _committed(kafka: KafkaTarget, group: str, topic: str) -> int:
    """The group's committed offsets summed, read without joining the group."""
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        c.close()
    return sum(tp.offset for tp in tps if tp.offset >= 0)


def test_restart_after_kill_waits_for_its_partitions_and_reads_everything(
    kafka: KafkaTarget, db_path: Path
) -> None:
    topic = kafka.create_topic("restart", 3)
    group = f"{kafka.prefix}restart"
    produce(kafka.bootstrap, _records(topic, 0, 1000))
    x = [arg for k, v in SLOW_GROUP.items() for arg in ("-X", f"{k}={v}")]
    first = subprocess.Popen(
        choreo_cmd("collect", "-b", kafka.bootstrap, "-t", topic, "-g", group, "--db", str(db_path), *x),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        wait_for(lambda: _committed(kafka, group, topic) == 1000, what="first run stored and committed")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    produce(kafka.bootstrap, _records(topic, 1000, 2000))
    # The dead member holds the partitions until its session expires: that is
    # waiting, not idle.
    s = settings(kafka.bootstrap, topic, group, until_idle=1.0, connect_timeout=3.0, extra=SLOW_GROUP)
    stats = start_collector(s, db_path).join(timeout=120)
    assert stats.stopped_by == "idle"
    assert query(db_path, "SELECT count(*), count(DISTINCT key) FROM events") == [(3000, 3000)]


def test_cluster_gone_is_not_idle(kafka: KafkaTarget, db_path: Path) -> None:
    cluster = kafka.require_embedded()
    topic = kafka.create_topic("gone", 2)
    stop = threading.Event()
    sent = [0]

    def keep_producing() -> None:  # records keep coming until the cluster goes away
        while not stop.is_set():
            produce(kafka.bootstrap, _records(topic, sent[0], 20))
            sent[0] += 20
            stop.wait(0.3)

    producer = threading.Thread(target=keep_producing, daemon=True)
    producer.start()
    run = start_collector(
        settings(kafka.bootstrap, topic, "g-gone", until_idle=2.0, connect_timeout=2.0), db_path
    )
    try:
        wait_for(lambda: run.collector.stats.stored >= 40, what="records stored")
    finally:
        stop.set()
        producer.join(30)
    cluster.broker_down(1)
    with pytest.raises(KafkaUnavailableError, match=r"unreachable .* not caught up"):
        run.join(timeout=120)


def test_no_topic_matching_is_not_idle(kafka: KafkaTarget, tmp_path: Path) -> None:
    kafka.create_topic("present", 1)
    run = run_choreo(
        "collect", "-b", kafka.bootstrap, "-t", kafka.topic("absent-.*"), "--db", str(tmp_path / "s.duckdb"),
        "--until-idle", "1", "--connect-timeout", "2",
        "-X", "session.timeout.ms=2000", "-X", "heartbeat.interval.ms=200",
    )  # fmt: skip
    err = [ln for ln in run.stderr.splitlines() if ln.startswith("choreo: ")]
    assert run.returncode == 2 and err, run.stderr
    assert_one_line(run.returncode, err[-1], says="no topic matches")
