"""Records that used to stop collect or import (issue 15, findings 1 to 3):
each is stored, the run goes on, and what could not be kept is said."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import orjson
import psutil
import pytest
from confluent_kafka import Producer

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.store import Store
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP_ARGS, choreo_cmd, collect_until_idle, produce, settings
from tests.support.import_helpers import kcat_line, ok, records, require_kcat, write

HUGE_TIMES = (b'{"type":"A","time":1e300}', b'{"type":"B","timestamp":-9300000000000000}', b'{"type":"C"}')


def test_import_stores_event_times_past_int64_without_them(tmp_path: Path) -> None:
    # Finding 1: OverflowError building the Arrow column; nothing of the file was stored.
    lines = [kcat_line("t", 0, i, p.decode()) for i, p in enumerate(HUGE_TIMES)]
    run = ok("import", "--no-reconstruct", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", lines))
    rows = records(tmp_path / "s.duckdb")
    assert [(r[9], r[14]) for r in rows] == [("A", None), ("B", None), ("C", None)]
    assert "2 record(s): event time out of range (stored without it)" in run.out + run.err


def test_import_plain_lines_with_times_past_int64(tmp_path: Path) -> None:
    lines = [b'{"type":"A","time":1e300}\n', b'{"type":"B","time":1714557600}\n']
    run = ok(
        "import", "--no-reconstruct", "--db", tmp_path / "s.duckdb", write(tmp_path / "app.jsonl", lines)
    )
    assert [(r[0], r[2], r[3]) for r in records(tmp_path / "s.duckdb")] == [
        ("app", 1, None),
        ("app", 2, 1_714_557_600_000),
    ]
    assert "time field out of range (ts unknown)" in run.out + run.err


@pytest.mark.kafka
def test_collect_stores_event_times_past_int64_and_goes_on(kafka: KafkaTarget, db_path: Path) -> None:
    topic = kafka.create_topic("times", partitions=1)
    produce(kafka.bootstrap, [(topic, None, p, None) for p in HUGE_TIMES])
    stats = collect_until_idle(settings(kafka.bootstrap, topic, f"{kafka.prefix}g", until_idle=1.0), db_path)
    assert stats.consumed == 3
    with Store.open(db_path, read_only=True) as s:
        rows = s.query('SELECT event_type, event_time_ms FROM events ORDER BY "offset"')
    assert rows == [("A", None), ("B", None), ("C", None)]


@pytest.mark.kafka
def test_collect_stores_a_record_whose_header_name_is_not_utf8(kafka: KafkaTarget, db_path: Path) -> None:
    # Finding 2: confluent-kafka's Message.headers() raised SystemError and collect stopped for good.
    kcat = require_kcat()
    topic = kafka.create_topic("hdr", partitions=1)
    bad = b"\xff\xfe=v1".decode("utf-8", "surrogateescape")
    subprocess.run(
        [kcat, "-P", "-b", kafka.bootstrap, "-t", topic, "-H", bad, "-H", "correlation-id=c-1", "-k", "k1"],
        input=b'{"type":"A"}\n',
        check=True,
        timeout=30,
    )
    produce(kafka.bootstrap, [(topic, b"k2", b'{"type":"B"}', [("ok", b"v")])])
    stats = collect_until_idle(settings(kafka.bootstrap, topic, f"{kafka.prefix}g", until_idle=1.0), db_path)
    assert stats.consumed == 2
    with Store.open(db_path, read_only=True) as s:
        rows = s.query('SELECT event_type, headers FROM events ORDER BY "offset"')
        ids = s.query("SELECT name, value FROM identifiers WHERE name = 'correlation-id'")
    assert rows == [
        ("A", [{"name": "\ufffd", "value": b"v1"}, {"name": "correlation-id", "value": b"c-1"}]),
        ("B", [{"name": "ok", "value": b"v"}]),
    ]
    assert ids == [("correlation-id", "c-1")]


def _big_payload(i: int) -> bytes:
    """A JSON payload of about 1 MB (librdkafka's default largest message is 1,000,000 bytes)."""
    return orjson.dumps({"type": "Big", "orderId": f"o-{i}", "blob": f"{i:08d}" * 123_000})


def _peak_rss_mb(cmd: list[str]) -> tuple[int, float]:
    """Run a command to its end; (exit code, peak RSS in MB sampled every 20 ms)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.02)  # the sampling interval
    return proc.returncode, peak / 2**20


@pytest.mark.slow
def test_import_of_1mb_records_in_bounded_memory(tmp_path: Path) -> None:
    # Finding 3: OutOfMemoryException, nothing stored. Batches are bounded in
    # bytes, and DuckDB's cap rises with what its checkpoints must pin.
    lines = [
        orjson.dumps(
            {"topic": "big", "partition": i % 64, "offset": i // 64, "payload": _big_payload(i).decode()}
        )
        + b"\n"
        for i in range(300)
    ]
    dump = write(tmp_path / "big.json", lines)
    code, peak = _peak_rss_mb(
        choreo_cmd(
            "import", "--no-reconstruct", "--no-progress", "--db", str(tmp_path / "s.duckdb"), str(dump)
        )
    )
    assert code == 0
    with Store.open(tmp_path / "s.duckdb", read_only=True) as s:
        assert s.query("SELECT count(*), min(octet_length(payload)) > 980_000 FROM events") == [(300, True)]
    # The file is 315 MB; DuckDB's checkpoints pin up to about half of it (see choreo.core.duck_memory).
    assert peak < 900, f"peak RSS {peak:.0f} MB"


@pytest.mark.kafka
@pytest.mark.slow
def test_collect_of_1mb_records_on_64_partitions(kafka: KafkaTarget, tmp_path: Path) -> None:
    # Finding 3: "failed to pin block" at 75 records, no progress across restarts.
    topic = kafka.create_topic("big", partitions=64)
    # zstd: the embedded cluster keeps 5 MB per partition (compressed, these are small).
    producer = Producer({"bootstrap.servers": kafka.bootstrap, "compression.type": "zstd", "linger.ms": 50})
    for i in range(400):
        producer.produce(topic, key=f"o-{i}".encode(), value=_big_payload(i))
        producer.poll(0)
    assert producer.flush(60) == 0
    del producer  # before the cluster goes
    db = tmp_path / "s.duckdb"
    cmd = choreo_cmd(
        "collect", "-b", kafka.bootstrap, "-t", topic, "-g", f"{kafka.prefix}g", "--from", "earliest",
        "--until-idle", "2", "--db", str(db), *FAST_GROUP_ARGS,
    )  # fmt: skip
    code, peak = _peak_rss_mb(cmd)
    assert code == 0
    with Store.open(db, read_only=True) as s:
        assert s.query("SELECT count(*), count(DISTINCT key) FROM events") == [(400, 400)]
    # DuckDB's checkpoints hold the large values of the table's last row group
    # (here all 400 MB) in memory: choreo.core.duck_memory. Measured: 950 MB.
    assert peak < 1300, f"peak RSS {peak:.0f} MB"


def test_batches_count_bytes_as_they_grow(tmp_path: Path) -> None:
    batch = EventBatch(Extractor(), "t")
    for i in range(3):
        batch.add("t", 0, i, None, 0, b"k", [("h", b"vv")], b"x" * 1000)
    assert batch.nbytes == 3 * (1 + 1 + 1 + 2 + 1000)
