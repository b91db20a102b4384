"""Kafka log segment files: the record batches a real producer wrote (with
every compression codec), as the broker stores them, import to exactly what
the live collector stores; corrupt and truncated segments are handled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import collect_until_idle, settings
from tests.support.import_helpers import choreo, count, identifiers, ok, records
from tests.support.kafka_fetch import fetch_log

pytestmark = pytest.mark.kafka

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


def _produce(bootstrap: str, topic: str, codec: str, n: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 50})
    for i in range(n):
        headers: list[Any] = [("correlation-id", f"o-{i}".encode())]
        if i % 5 == 0:
            headers += [("bin", b"\xff\x00"), ("nothing", None)]
        key = None if i % 4 == 0 else f"o-{i}".encode()
        value = b'{"type":"OrderPlaced","orderId":"o-%d"}' % i if i % 7 else b"\x00\xffbinary\x80"
        p.produce(topic, key=key, value=value, headers=headers, partition=i % 2)
        if i % 40 == 0:
            p.flush()  # several batches per partition
    assert p.flush(30) == 0


def _segments(kafka: KafkaTarget, topics: list[str], root: Path) -> list[Path]:
    out = []
    for topic in topics:
        for partition in (0, 1):
            d = root / f"{topic}-{partition}"
            d.mkdir(parents=True)
            seg = d / "00000000000000000000.log"
            seg.write_bytes(fetch_log(kafka.bootstrap, topic, partition))
            (d / "00000000000000000000.index").write_bytes(b"\x00" * 16)  # left out by the glob
            out.append(seg)
    return out


def test_segments_import_to_what_collect_stores(kafka: KafkaTarget, tmp_path: Path) -> None:
    kafka.require_embedded()  # the raw fetch talks to the one broker
    topics = [kafka.create_topic(f"seg-{codec}", 2) for codec in CODECS]
    for topic, codec in zip(topics, CODECS, strict=True):
        _produce(kafka.bootstrap, topic, codec, 150)
    _segments(kafka, topics, tmp_path / "data")

    imported = tmp_path / "imported.duckdb"
    run = ok("import", "--db", imported, str(tmp_path / "data" / "*" / "*"))
    assert "total: 10 files, 750 records, 750 new, 0 bad line(s)" in run.out
    assert "(segment)" in run.out

    collected = tmp_path / "collected.duckdb"
    regex = f"{re.escape(kafka.prefix)}seg-.*"
    group = f"{kafka.prefix}g"
    stats = collect_until_idle(settings(kafka.bootstrap, regex, group, until_idle=1.0), collected)
    assert stats.consumed == 750
    assert records(imported) == records(collected)
    assert identifiers(imported) == identifiers(collected)


def test_corrupt_and_truncated_segments(kafka: KafkaTarget, tmp_path: Path) -> None:
    kafka.require_embedded()
    topic = kafka.create_topic("seg", 2)
    _produce(kafka.bootstrap, topic, "none", 200)
    (seg, _other) = _segments(kafka, [topic], tmp_path / "data")
    data = bytearray(seg.read_bytes())
    first_len = int.from_bytes(data[8:12], "big") + 12
    data[first_len + 100] ^= 0xFF  # inside the second batch: its CRC no longer matches
    seg.write_bytes(bytes(data))
    db = tmp_path / "s.duckdb"
    run = ok("import", "--db", db, seg)
    assert f"1 bad batch(es) skipped: {seg}@{first_len}: batch CRC-32C mismatch (corrupt)" in run.out
    total = 100  # partition 0 got every other record
    assert 0 < count(db) < total

    cut = tmp_path / "cut" / f"{topic}-0"
    cut.mkdir(parents=True)
    (cut / "0.log").write_bytes(bytes(data[: len(data) - 10]))
    run = choreo("import", "--db", tmp_path / "t.duckdb", cut / "0.log")
    assert run.code == 2 and "DAMAGED: segment ends inside the batch at byte" in run.out
    assert count(tmp_path / "t.duckdb") > 0


def test_segment_needs_coordinates(kafka: KafkaTarget, tmp_path: Path) -> None:
    kafka.require_embedded()
    topic = kafka.create_topic("seg", 2)
    _produce(kafka.bootstrap, topic, "zstd", 20)
    loose = tmp_path / "loose.log"
    loose.write_bytes(fetch_log(kafka.bootstrap, topic, 1))
    run = choreo("import", "--db", tmp_path / "s.duckdb", loose)
    assert run.code == 2 and "give --topic NAME:PARTITION" in run.err
    ok("import", "--db", tmp_path / "s.duckdb", "--topic", "renamed:1", loose)
    assert {(r[0], r[1]) for r in records(tmp_path / "s.duckdb")} == {("renamed", 1)}


def test_transactions_as_a_read_committed_consumer_sees_them(kafka: KafkaTarget, tmp_path: Path) -> None:
    kafka.require_embedded()
    topic = kafka.create_topic("tx", 1)
    p = Producer({"bootstrap.servers": kafka.bootstrap, "transactional.id": f"{kafka.prefix}tx"})
    p.init_transactions(10)
    for outcome in ("commit", "abort", "commit"):
        p.begin_transaction()
        for i in range(3):
            p.produce(topic, value=b'{"type":"%s","n":%d}' % (outcome.encode(), i), partition=0)
        p.flush(10)  # the records reach the log before the marker
        if outcome == "commit":
            p.commit_transaction(10)
        else:
            p.abort_transaction(10)
    seg = tmp_path / f"{topic}-0" / "00000000000000000000.log"
    seg.parent.mkdir()
    seg.write_bytes(fetch_log(kafka.bootstrap, topic, 0))
    imported = tmp_path / "imported.duckdb"
    run = ok("import", "--db", imported, seg)
    assert "6 records, 6 new" in run.out
    assert "3 record(s): records of aborted transactions skipped" in run.out
    collected = tmp_path / "collected.duckdb"
    group = f"{kafka.prefix}g"
    collect_until_idle(settings(kafka.bootstrap, re.escape(topic), group, until_idle=1.0), collected)
    # The mock broker does not hide aborted records from read_committed consumers
    # (a real broker does): the collector got them all, the import the committed ones.
    committed = [r for r in records(collected) if r[9] != "abort"]
    assert len(committed) == 6
    assert records(imported) == committed
