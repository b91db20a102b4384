"""`choreo collect` as a real process: kill -9 mid-backlog loses and doubles
nothing; SIGINT/SIGTERM finish the batch, commit and exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP, FAST_GROUP_ARGS, choreo_cmd, produce, query, run_choreo
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka

N = 30_000


def _fill(kafka: KafkaTarget, name: str) -> str:
    topic = kafka.create_topic(name, 3)
    produce(
        kafka.bootstrap,
        (
            (
                topic,
                f"o-{i}".encode(),
                json.dumps({"type": "OrderPlaced", "orderId": f"o-{i}"}).encode(),
                None,
            )
            for i in range(N)
        ),
    )
    return topic


def _committed(kafka: KafkaTarget, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets, read without joining the group."""
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group, **FAST_GROUP})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        c.close()
    return {tp.partition: tp.offset for tp in tps if tp.offset >= 0}


def _start(kafka: KafkaTarget, topic: str, group: str, db: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["collect", "-b", kafka.bootstrap, "-t", topic, "-g", group, "--db", str(db), *FAST_GROUP_ARGS]
    return subprocess.Popen(
        choreo_cmd(*args, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def test_kill_9_mid_backlog_then_restart_is_exactly_once(kafka: KafkaTarget, db_path: Path) -> None:
    topic = _fill(kafka, "backlog")
    group = f"{kafka.prefix}crash"
    proc = _start(kafka, topic, group, db_path, "--batch-size", "300")
    try:
        wait_for(lambda: sum(_committed(kafka, group, topic).values()) >= 3_000, what="some commits")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert sum(_committed(kafka, group, topic).values()) < N, "killed too late to test anything"

    done = run_choreo(
        "collect", "-b", kafka.bootstrap, "-t", topic, "-g", group, "--db", str(db_path),
        "--until-idle", "1", *FAST_GROUP_ARGS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert query(db_path, "SELECT count(*), count(DISTINCT key) FROM events") == [(N, N)]
    keys = {bytes(k) for (k,) in query(db_path, "SELECT key FROM events")}
    assert keys == {f"o-{i}".encode() for i in range(N)}
    assert sum(_committed(kafka, group, topic).values()) == N


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_finishes_batch_commits_and_exits_0(
    kafka: KafkaTarget, db_path: Path, sig: signal.Signals
) -> None:
    topic = _fill(kafka, "sig")
    group = f"{kafka.prefix}sig"
    proc = _start(kafka, topic, group, db_path, "--batch-size", "300")
    try:
        wait_for(lambda: sum(_committed(kafka, group, topic).values()) >= 1_000, what="some commits")
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "collect: stopped:" in err
    # Everything stored is committed and everything committed is stored.
    committed = _committed(kafka, group, topic)
    stored = dict(query(db_path, 'SELECT partition, max("offset") + 1 FROM events GROUP BY 1'))
    assert committed == stored
    assert query(db_path, "SELECT count(*) FROM events")[0][0] == sum(committed.values())
