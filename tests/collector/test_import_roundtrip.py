"""`choreo export events` -> `choreo import`: a lossless round trip, bytes
exact, including non-UTF-8 keys, header values and payloads."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.store import Store
from tests.support.import_helpers import count, export_events, identifiers, ok, records

ODD_BYTES = [
    b'{"type":"OrderPlaced","orderId":"o-1"}',
    b"\x00\x01\x02avro\xff\xfe",  # binary
    b"caf\xe9",  # latin-1: not UTF-8
    b"",  # empty
    None,  # tombstone
    "snow \u2603 \u2028 line".encode(),  # valid UTF-8 with a line separator
    b'{"b64": "looks like our escape, but is a payload"}',
    b'  {"type":"Spaced"}\r\n',
]


def _seed(db: Path) -> None:
    batch = EventBatch(Extractor(), "collect:test")
    for i, payload in enumerate(ODD_BYTES):
        key = None if i % 3 == 0 else (b"k\xff" if i % 3 == 1 else f"k-{i}".encode())
        headers = [
            ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ("bin", b"\x80\x00"),
        ]
        batch.add(
            "orders",
            i % 2,
            100 + i,
            1_714_564_800_000 + i if i != 4 else None,
            1 if i != 4 else 0,
            key,
            headers if i % 2 else None,
            payload,
        )
    with Store.open(db) as store:
        store.append(*batch.tables())


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_round_trip_is_lossless(suffix: str, tmp_path: Path) -> None:
    original = tmp_path / "original.duckdb"
    _seed(original)
    out = tmp_path / f"events{suffix}"
    export_events("--db", original, "-o", out)
    again = tmp_path / "again.duckdb"
    run = ok("import", "--db", again, out)
    assert "(choreo" in run.out and f"{len(ODD_BYTES)} new" in run.out
    assert records(again) == records(original)
    assert identifiers(again) == identifiers(original)


def test_export_to_stdout_is_stable_and_one_object_per_line(tmp_path: Path) -> None:
    original = tmp_path / "original.duckdb"
    _seed(original)
    first = export_events("--db", original)
    lines = first.out.rstrip("\n").split("\n")  # not splitlines(): U+2028 is no line break in JSONL
    assert len(lines) == len(ODD_BYTES)
    objs = [orjson.loads(line) for line in lines]
    assert all(o["choreo"] == 1 for o in objs)
    assert {"b64": "AAECYXZyb//+"} in [o["payload"] for o in objs]
    again = tmp_path / "again.duckdb"
    ok("import", "--db", again, "-", stdin=first.out.encode())
    assert export_events("--db", again).out == first.out


def test_export_topic_filter(tmp_path: Path) -> None:
    original = tmp_path / "original.duckdb"
    _seed(original)
    batch = EventBatch(Extractor(), "x")
    batch.add("payments", 0, 0, 1, 1, None, None, b"{}")
    with Store.open(original) as store:
        store.append(*batch.tables())
    out = tmp_path / "p.jsonl"
    export_events("--db", original, "--topics", "pay.*", "-o", out)
    ok("import", "--db", tmp_path / "p.duckdb", out)
    assert count(tmp_path / "p.duckdb") == 1
