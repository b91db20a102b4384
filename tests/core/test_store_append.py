"""Store.append: idempotent in every mix of new and replayed records."""

from __future__ import annotations

from pathlib import Path

import duckdb

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.store import Store


def _batch(offsets: list[tuple[str, int, int]]) -> EventBatch:
    b = EventBatch(Extractor(), "test")
    for topic, partition, offset in offsets:
        b.add(
            topic,
            partition,
            offset,
            1000 + offset,
            1,
            f"k{offset}".encode(),
            [("correlation-id", f"c{offset}".encode())],
            b'{"orderId": "o-%d"}' % offset,
        )
    return b


def _counts(s: Store) -> tuple[int, int]:
    ev = s.query("SELECT count(*) FROM events")[0][0]
    ids = s.query("SELECT count(*) FROM identifiers")[0][0]
    return int(ev), int(ids)


def test_forward_replay_overlap_and_gaps(db_path: Path) -> None:
    with Store.open(db_path) as s:
        assert s.append(*_batch([("a", 0, i) for i in range(10)]).tables()).inserted == 10
        assert _counts(s) == (10, 30)  # key, correlation-id, orderId per record
        # Replayed in full.
        assert s.append(*_batch([("a", 0, i) for i in range(10)]).tables()).inserted == 0
        # Overlapping: half replayed, half new, plus a new partition.
        mixed = [("a", 0, i) for i in range(5, 15)] + [("a", 1, 0)]
        assert s.append(*_batch(mixed).tables()).inserted == 6
        # A gap filled later (an import of an older dump).
        assert s.append(*_batch([("a", 0, 20)]).tables()).inserted == 1
        assert s.append(*_batch([("a", 0, 17), ("a", 0, 20)]).tables()).inserted == 1
        # Duplicates within one batch count once.
        assert s.append(*_batch([("b", 0, 1), ("b", 0, 1)]).tables()).inserted == 1
        ev, ids = _counts(s)
        assert ev == 19 and ids == 3 * ev
        dup = s.query(
            'SELECT count(*) FROM (SELECT topic, partition, "offset", name, value, count(*) c '
            "FROM identifiers GROUP BY ALL HAVING c > 1)"
        )
        assert dup == [(0,)]


def test_rows_written_behind_its_back_are_not_doubled(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.append(*_batch([("a", 0, 0)]).tables())
        # Another writer (same file, other connection) stores offset 1.
        other = s.con.cursor()
        events, _ids = _batch([("a", 0, 1)]).tables()
        other.register("e", events)
        other.execute("INSERT INTO events SELECT * FROM e")
        other.close()
        assert s.append(*_batch([("a", 0, 1), ("a", 0, 2)]).tables()).inserted == 1
        assert _counts(s) == (3, 6)


def test_empty_batch(db_path: Path) -> None:
    with Store.open(db_path) as s:
        assert s.append(*_batch([]).tables()).inserted == 0


def test_large_batch_spans_chunks_and_stays_byte_exact(db_path: Path) -> None:
    b = EventBatch(Extractor(), "test")
    payloads = [bytes([i % 256]) * (i % 50) for i in range(20_000)]
    for i, p in enumerate(payloads):
        b.add("t", i % 3, i, None, 0, None, [("h", bytes([i % 256]))] if i % 2 else None, p)
    with Store.open(db_path) as s:
        assert s.append(*b.tables()).inserted == 20_000
    con = duckdb.connect(str(db_path), read_only=True)
    got = con.execute('SELECT payload, len(headers) FROM events ORDER BY "offset"').fetchall()
    con.close()
    assert [bytes(p) for p, _ in got] == payloads
    assert [n for _, n in got] == [i % 2 for i in range(20_000)]
