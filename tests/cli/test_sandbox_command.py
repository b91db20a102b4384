"""`choreo sandbox`: a real cluster on loopback until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.support.collect_helpers import choreo_cmd, produce, run_choreo, run_main


def test_sandbox_serves_topics_until_interrupted() -> None:
    proc = subprocess.Popen(
        choreo_cmd("sandbox", "--brokers", "2", "--topic", "orders:3", "--topic", "payments"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        bootstrap = proc.stdout.readline().strip()
        assert bootstrap.count(":") >= 1, bootstrap
        md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
        assert len(md.brokers) == 2
        assert len(md.topics["orders"].partitions) == 3
        assert len(md.topics["payments"].partitions) == 3  # the default partition count
        produce(bootstrap, [("orders", b"k", b'{"type":"OrderPlaced"}', None)], partition=2)
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe"})
        _low, high = c.get_watermark_offsets(TopicPartition("orders", 2), timeout=10)
        c.close()
        assert high == 1
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "embedded cluster: 2 broker(s), topics: orders:3, payments:3" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", ":3"], "has no name"),
        (["--topic", "orders:many"], "partitions must be a whole number"),
        (["--topic", "orders:0"], "at least 1"),
        (["--brokers", "0"], "--brokers"),
    ],
)
def test_sandbox_bad_arguments(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    result = run_main(capsys, "sandbox", *args)
    assert result.returncode == 2
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("choreo: ")
    assert message in err


def test_help_lists_the_commands() -> None:
    result = run_choreo("--help")
    assert result.returncode == 0
    for name in ("collect", "sandbox", "status"):
        assert name in result.stdout
