"""While `choreo collect` (another process) writes a store, every reading
command works on it and sees what was collected seconds ago; the collector
is never stopped or slowed by them."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from choreo.core.snapshot import snapshot_path
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP_ARGS, Record, choreo_cmd, produce, run_main
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka


def orders(topic: str, first: int, n: int) -> list[Record]:
    """OrderCreated, then OrderCompleted for every other order (the rest stay open)."""
    out: list[Record] = []
    for i in range(first, first + n):
        oid = f"ord-{i:05d}"
        types = ("OrderCreated", "OrderCompleted") if i % 2 == 0 else ("OrderCreated",)
        for etype in types:
            body = {"type": etype, "orderId": oid, "source": "order-service", "eventId": f"{oid}-{etype}"}
            out.append((topic, oid.encode(), orjson.dumps(body), None))
    return out


def _json(capsys: Any, *args: str) -> Any:
    r = run_main(capsys, *args)
    assert r.returncode == 0, r.stderr
    return orjson.loads(r.stdout)


def test_every_reading_command_works_beside_a_running_collector(
    kafka: KafkaTarget, db_path: Path, tmp_path: Path, capsys: Any
) -> None:
    topic = kafka.create_topic("orders", partitions=2)
    produce(kafka.bootstrap, orders(topic, 0, 10))
    args = ["collect", "-b", kafka.bootstrap, "-t", topic, "-g", f"{kafka.prefix}c", "--db", str(db_path)]
    collector = subprocess.Popen(
        choreo_cmd(*args, *FAST_GROUP_ARGS, "--batch-seconds", "0.2"),
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    db = str(db_path)
    try:

        def events_seen() -> int:
            return int(_json(capsys, "status", "--db", db, "--json")["events"])

        wait_for(db_path.exists, timeout=60, what="the collector's store")
        wait_for(lambda: events_seen() == 15, timeout=60, what="the first 15 events through a snapshot")
        status = _json(capsys, "status", "--db", db, "--json")
        assert status["now_kind"] == "live" and status["instances"] == 10
        snap = status["snapshot"]  # scripts can tell how old what they read is
        assert snap["writer"] == "choreo collect" and snap["pid"] == collector.pid
        assert snap["published_ms"] <= status["now_ms"]
        r = run_main(capsys, "status", "--db", db)
        assert "read from the snapshot choreo collect" in r.stdout, r.stdout

        # Newer events show up within seconds, the collector still running.
        produce(kafka.bootstrap, orders(topic, 10, 10))
        wait_for(lambda: events_seen() == 30, timeout=60, what="the next 15 events")
        assert collector.poll() is None

        stuck = _json(capsys, "stuck", "--db", db, "--json", "--now", "2100-01-01T00:00:00Z")
        assert stuck["now_kind"] == "given" and isinstance(stuck["stuck"], list)
        r = run_main(capsys, "show", "ord-00003", "--db", db)
        assert r.returncode == 0 and "OrderCreated" in r.stdout, r.stderr
        out = tmp_path / "events.jsonl"
        r = run_main(capsys, "export", "events", "--db", db, "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert len(out.read_text().splitlines()) == 30
        r = run_main(capsys, "export", "workflow", "--db", db, "-o", "-")
        assert r.returncode == 0 and "OrderCreated" in r.stdout, r.stderr
        report = _json(capsys, "report", "--db", db, "--format", "json")
        assert report["events"] == 30 and report["as_of_kind"] == "live"
        assert collector.poll() is None, "no reader stopped the collector"
        # Readers left nothing behind: their private copies are gone.
        assert not list(db_path.parent.glob(f".{db_path.name}.reader-*"))
    finally:
        collector.send_signal(signal.SIGINT)
        _out, err = collector.communicate(timeout=60)
    assert collector.returncode == 0, err
    assert not snapshot_path(db_path).exists()
    after = _json(capsys, "status", "--db", db, "--json")
    assert after["events"] == 30 and "snapshot" not in after
