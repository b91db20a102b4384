"""Promise: no record a producer can write stops collect or import (issue 15).

Random bytes, random JSON (huge numbers, deep nesting, control characters,
non-UTF-8 in keys, strings, header names and values) and random header sets
(tests/support/fuzz.py), thrown at a running `choreo collect` through a real
producer and at `choreo import` as kcat, choreo and plain JSON lines. Checks:
no traceback, every record stored or counted as a bad line, the collector
still running afterwards, and the store still readable by every command.

CHOREO_FUZZ_SEED picks another seed (the default one runs in make test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.conftest import KafkaTarget
from tests.support.catalogue_helpers import run_choreo
from tests.support.collect_helpers import FAST_GROUP, FAST_GROUP_ARGS, choreo_cmd, query
from tests.support.fuzz import Fuzzer
from tests.support.hostile import raw_controls
from tests.support.import_helpers import choreo
from tests.support.waiting import wait_for

SEED = int(os.environ.get("CHOREO_FUZZ_SEED", "15"))
LINES = 2_000  # per dump format
RECORDS = 1_500  # produced to the collector
CHUNK = 100


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


def _read_everything(db: Path) -> None:
    """Every reading command (and exports) still works on what was stored, and prints safely
    (in this process: a fresh interpreter each would cost seconds)."""
    out = db.parent
    exports = (["export", "xes", "-o", out / "x.xes"], ["export", "ocel", "-o", out / "o.jsonocel"])
    for args in (["reconstruct"], ["status"], ["stuck"], ["keys"], ["report"], *exports):
        run = choreo(*args, "--db", db, "--now", "1800000000000")
        assert run.code == 0 and "Traceback" not in run.err, (args, run.err[-2000:])
        assert raw_controls(run.out + run.err) == [], args


@pytest.mark.parametrize("fmt", ["plain", "kcat", "choreo"])
def test_import_random_lines(tmp_path: Path, fmt: str) -> None:
    fz = Fuzzer(SEED + ["plain", "kcat", "choreo"].index(fmt))
    lines = []
    for offset in range(LINES):
        if fmt == "plain":
            line = fz.plain_line()
        elif fmt == "kcat":
            line = fz.kcat_line("fuzz", offset)
        else:
            line = fz.choreo_line("fuzz", offset)
        lines.append(line if line.strip() else b"x")  # blank lines are not records
    dump = tmp_path / f"fuzz.{fmt}.jsonl"
    dump.write_bytes(b"\n".join(lines) + b"\n")
    db = tmp_path / "s.duckdb"
    proc = run_choreo("import", "--db", db, "--format", fmt, "--no-reconstruct", "--json", dump, timeout=300)
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["records"] + report["bad_lines"] == LINES
    assert report["inserted"] == report["records"] == query(db, "SELECT count(*) FROM events")[0][0]
    _read_everything(db)


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **FAST_GROUP})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        c.close()
    return sum(tp.offset for tp in tps if tp.offset >= 0)


def _stored(
    collector: subprocess.Popen[str], bootstrap: str, group: str, topic: str, n: int
) -> Callable[[], bool]:
    """The first n records stored and committed (or the collector gone)."""
    return lambda: collector.poll() is not None or _committed(bootstrap, group, topic, 3) >= n


@pytest.mark.kafka
def test_collect_random_records(kafka: KafkaTarget, tmp_path: Path) -> None:
    topic = kafka.create_topic("fuzz", 3)
    group = f"{kafka.prefix}fuzz"
    db = tmp_path / "s.duckdb"
    collector = subprocess.Popen(
        choreo_cmd(
            "collect", "-b", kafka.bootstrap, "-t", topic, "-g", group, "--db", str(db), *FAST_GROUP_ARGS
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        fz = Fuzzer(SEED)
        producer = Producer(
            {"bootstrap.servers": kafka.bootstrap, "linger.ms": 20, "message.max.bytes": 2_000_000}
        )
        # In chunks, each read before the next is sent: the embedded cluster
        # keeps only a few MB per partition, and some records are big.
        for first in range(0, RECORDS, CHUNK):
            for _ in range(first, min(first + CHUNK, RECORDS)):
                rec = fz.record()
                headers: Any = rec.headers or None  # bytes names: what a careless producer sends
                producer.produce(topic, key=rec.key, value=rec.value, headers=headers)
                producer.poll(0)
            assert producer.flush(60) == 0
            done = min(first + CHUNK, RECORDS)
            wait_for(
                _stored(collector, kafka.bootstrap, group, topic, done),
                timeout=120,
                what=f"the first {done} records stored and committed",
            )
            assert collector.poll() is None, "the collector stopped"
        # A well-formed record after all of that: collection went on.
        producer.produce(topic, key=b"last", value=b'{"type": "Sentinel", "orderId": "s-1"}')
        assert producer.flush(60) == 0
        wait_for(
            _stored(collector, kafka.bootstrap, group, topic, RECORDS + 1),
            timeout=120,
            what="every record stored and committed",
        )
        assert collector.poll() is None, "the collector stopped"  # still running
        collector.send_signal(signal.SIGTERM)
        _out, err = collector.communicate(timeout=60)
    finally:
        if collector.poll() is None:
            collector.kill()
            collector.communicate()
    assert collector.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert query(db, "SELECT count(*) FROM events") == [(RECORDS + 1,)], err[-3000:]
    assert query(db, "SELECT count(*) FROM events WHERE key = 'last'::BLOB") == [(1,)]
    _read_everything(db)
