"""Poison records of every kind are stored raw and flagged; collection goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import Record, collect_until_idle, produce, query, settings

pytestmark = pytest.mark.kafka

POISON: list[tuple[bytes | None, str]] = [
    (b"", "empty"),
    (b"hello, not json", "text"),
    (b'{"truncated": ', "text"),
    (b"\x00\x01\x02avro\xff", "binary"),
    (b"caf\xe9 au lait", "invalid-utf8"),
    (None, "null"),
]


def test_poison_is_stored_flagged_and_collection_continues(kafka: KafkaTarget, db_path: Path) -> None:
    topic = kafka.create_topic("mixed", 1)
    records: list[Record] = []
    for i in range(3):
        for payload, _kind in POISON:
            records.append((topic, f"k{i}".encode(), payload, None))
            records.append((topic, None, b'{"type":"Ok","orderId":"o-%d"}' % i, None))
    produce(kafka.bootstrap, records, partition=0)
    stats = collect_until_idle(settings(kafka.bootstrap, topic, "c1", until_idle=1.0), db_path)
    assert stats.consumed == len(records)
    assert stats.poison == 3 * (len(POISON) - 1)  # a tombstone is not poison

    rows = query(db_path, 'SELECT "offset", payload, payload_kind, event_type FROM events ORDER BY 1')
    assert len(rows) == len(records)
    for (offset, payload, kind, event_type), (_t, _k, sent, _h) in zip(rows, records, strict=True):
        assert payload == sent, f"offset {offset} not byte-exact"
        if sent is not None and sent.startswith(b'{"type":"Ok"'):
            assert (kind, event_type) == ("json", "Ok")
        else:
            expected = next(k for p, k in POISON if p == sent)
            assert kind == expected, f"offset {offset}: {sent!r}"
            assert event_type == topic  # falls back to the topic
    # Poisoned records still carry what can be known: the record key.
    keys = query(db_path, "SELECT count(*) FROM identifiers WHERE name = 'key'")
    assert keys == [(3 * len(POISON),)]
