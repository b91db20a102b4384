"""The dump is what Kafka and kcat would give: Kafka's partitioner, kcat's
JSON (checked byte for byte against the real kcat binary on the embedded
cluster), and choreo's importer reads back exactly the generated records."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from choreo import _native
from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.trafficgen.kafka import KafkaRecord, json_string, kcat_line, murmur2, partition_for
from choreo.trafficgen.traffic import generate
from tests.conftest import KafkaTarget
from tests.support.import_helpers import require_kcat
from tests.trafficgen.support import small


def _signed(x: int) -> int:
    return x - 2**32 if x >= 2**31 else x


@pytest.mark.parametrize(
    ("text", "want"),
    # Kafka's own test vectors (UtilsTest.testMurmur2).
    [
        ("21", -973932308),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        ("abc", 479470107),
    ],
)
def test_murmur2_matches_kafka(text: str, want: int) -> None:
    assert _signed(murmur2(text.encode())) == want


def test_partitioner_is_positive_modulo() -> None:
    assert partition_for(b"21", 7) == (-973932308 & 0x7FFFFFFF) % 7


def test_json_strings_escape_like_yajl() -> None:
    assert json_string(b'a"b\\c/d\x00\x1f\n\t\x7f\xff') == b'"a\\"b\\\\c/d\\u0000\\u001F\\n\\t\x7f\xff"'
    assert json_string(None) == b"null"


def _read_back(lines: list[bytes]) -> list[tuple[Any, ...]]:
    """kcat lines through the importer's record path (the native core)."""
    batch = EventBatch(Extractor(), "import:test")
    got = batch.add_lines(_native.LineDecoder("kcat"), b"".join(lines), 1)
    assert not got.bad, got.bad
    events, _ = batch.tables()
    rows = events.select(["topic", "partition", "offset", "ts_ms", "ts_type", "key", "headers", "payload"])
    return [
        (t, p, o, ts, tt, k, [(h["name"], h["value"]) for h in hs] or None, v)
        for t, p, o, ts, tt, k, hs, v in zip(*rows.to_pydict().values(), strict=True)
    ]


def test_choreo_reads_back_every_generated_record() -> None:
    g = generate(small(seed=21, poison_per_10k=500.0, header_shape="mixed", traceparent_share=0.5))
    for shape in ("array", "map"):
        got = _read_back([kcat_line(r, shape) for r in g.records])
        assert len(got) == len(g.records)
        for r, row in zip(g.records, got, strict=True):
            want_headers = list(r.headers) or None
            if shape == "map" and want_headers:
                # The map shape groups repeated names in first-seen order.
                order = list(dict.fromkeys(n for n, _ in want_headers))
                want_headers = sorted(want_headers, key=lambda h: order.index(h[0]))
            assert row == (r.topic, r.partition, r.offset, r.ts, r.ts_type, r.key, want_headers, r.payload)


def _produce(bootstrap: str, records: list[KafkaRecord]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "enable.idempotence": True})
    errors: list[str] = []

    def done(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    for r in records:
        p.produce(
            r.topic,
            value=r.payload,
            key=r.key,
            partition=r.partition,
            timestamp=r.ts,
            headers=list(r.headers) or None,
            on_delivery=done,
        )
        p.poll(0)
    assert p.flush(30) == 0 and not errors, errors


@pytest.mark.kafka
def test_the_dump_is_byte_for_byte_what_kcat_writes(kafka: KafkaTarget, tmp_path: Path) -> None:
    kcat = require_kcat()
    g = generate(
        small(instances=25, seed=4, retention_lead_ms=0, poison_per_10k=400.0, traceparent_share=0.5)
    )
    topics = {t.name: kafka.create_topic(t.name, t.partitions) for t in g.spec.topics}
    # Offsets start at 0 without retention; the embedded cluster has one broker.
    ours = [replace(r, topic=topics[r.topic], broker=1) for r in g.records]
    _produce(kafka.bootstrap, ours)
    assert any(r.payload is None for r in ours) or any(r.headers for r in ours)
    seen = 0
    for name, full in topics.items():
        out = subprocess.run(
            [kcat, "-C", "-J", "-q", "-b", kafka.bootstrap, "-t", full, "-o", "beginning", "-e"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        theirs = sorted(out.splitlines(keepends=True))
        mine = sorted(kcat_line(r) for r in ours if r.topic == full)
        assert theirs == mine, name
        seen += len(theirs)
    assert seen == len(ours)
