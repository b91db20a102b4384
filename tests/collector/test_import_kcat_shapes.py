"""kcat -J in all the shapes it writes: header arrays, maps of lists, maps of
strings; absent timestamps; deserialiser errors; raw non-UTF-8 bytes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.support.import_helpers import identifiers, kcat_line, ok, records, write

HEADER_SHAPES = {
    "flat array": ["correlation-id", "c-1", "retry", "1", "retry", "2", "empty", None],
    "map of lists": {"correlation-id": ["c-1"], "retry": ["1", "2"], "empty": [None]},
    "map of strings": {"correlation-id": "c-1", "retry": "1", "empty": None},
}
WANT = {
    "flat array": [("correlation-id", b"c-1"), ("retry", b"1"), ("retry", b"2"), ("empty", None)],
    "map of lists": [("correlation-id", b"c-1"), ("retry", b"1"), ("retry", b"2"), ("empty", None)],
    "map of strings": [("correlation-id", b"c-1"), ("retry", b"1"), ("empty", None)],
}


@pytest.mark.parametrize("shape", list(HEADER_SHAPES))
def test_header_shapes(shape: str, tmp_path: Path) -> None:
    dump = write(
        tmp_path / "d.json", [kcat_line("orders", 0, 5, '{"type":"A"}', headers=HEADER_SHAPES[shape])]
    )
    ok("import", "--db", tmp_path / "s.duckdb", dump)
    (row,) = records(tmp_path / "s.duckdb")
    assert [(h["name"], h["value"]) for h in row[6]] == WANT[shape]
    # The correlation header was seen by extraction, whatever the shape.
    assert ("correlation-id", "c-1") in {(r[3], r[4]) for r in identifiers(tmp_path / "s.duckdb")}


def test_timestamps_and_types(tmp_path: Path) -> None:
    lines = [
        kcat_line("t", 0, 0, "{}", ts=1000),
        orjson.dumps(
            {"topic": "t", "partition": 0, "offset": 1, "tstype": "logappend", "ts": 2000, "payload": "{}"}
        )
        + b"\n",
        # No tstype/ts at all: the broker gave none.
        orjson.dumps({"topic": "t", "partition": 0, "offset": 2, "broker": -1, "key": None, "payload": "{}"})
        + b"\n",
    ]
    ok("import", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", lines))
    assert [(r[3], r[4]) for r in records(tmp_path / "s.duckdb")] == [(1000, 1), (2000, 2), (None, 0)]


def test_raw_non_utf8_bytes_and_escapes_are_kept_exactly(tmp_path: Path) -> None:
    # What kcat writes for a binary record: raw bytes >= 0x80 unescaped, control bytes as \\u00XX.
    line = (
        b'{"topic":"t","partition":1,"offset":9,"tstype":"create","ts":5,"broker":1,'
        b'"headers":["bin","\xff\\u0000"],"key":"k\xfe","payload":"\\u0000\\u0001\xff\xfe\x80abc\\"\\\\\\n"}\n'
    )
    ok("import", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", [line]))
    (row,) = records(tmp_path / "s.duckdb")
    assert row[5] == b"k\xfe"
    assert row[6] == [{"name": "bin", "value": b"\xff\x00"}]
    assert row[7] == b'\x00\x01\xff\xfe\x80abc"\\\n'
    assert row[8] == "binary"


def test_deserialiser_output_and_errors(tmp_path: Path) -> None:
    lines = [
        # kcat -s avro: the decoded value is JSON itself.
        orjson.dumps(
            {
                "topic": "t",
                "partition": 0,
                "offset": 0,
                "key": None,
                "payload": {"type": "A", "orderId": "o-1"},
                "value_schema_id": 3,
            }
        )
        + b"\n",
        orjson.dumps(
            {
                "topic": "t",
                "partition": 0,
                "offset": 1,
                "key": None,
                "key_error": "bad magic",
                "payload": None,
                "payload_error": "Failed to deserialize",
            }
        )
        + b"\n",
    ]
    run = ok("import", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", lines))
    rows = records(tmp_path / "s.duckdb")
    assert orjson.loads(rows[0][7]) == {"type": "A", "orderId": "o-1"} and rows[0][9] == "A"
    assert rows[1][5] is None and rows[1][7] is None
    assert "1 record(s): payload_error (payload stored as null)" in run.out
    assert "1 record(s): key_error (key stored as null)" in run.out
