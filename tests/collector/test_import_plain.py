"""Plain JSON lines without Kafka coordinates: coordinates from file and line,
time from a configurable field, idempotent re-import."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.support.import_helpers import count, ok, records, write


def _line(obj: object) -> bytes:
    return orjson.dumps(obj) + b"\n"


EVENTS = [
    _line({"type": "OrderPlaced", "orderId": "o-1", "time": "2024-05-01T12:00:00Z"}),
    b"\n",  # blank lines are skipped, but still count as lines
    _line(
        {
            "type": "PaymentDone",
            "orderId": "o-1",
            "meta": {"at": 1714564805000},
            "time": "2024-05-01T12:00:05Z",
        }
    ),
    _line({"type": "Shipped", "orderId": "o-1"}),  # no time at all
]


def test_coordinates_from_file_and_line(tmp_path: Path) -> None:
    dump = write(tmp_path / "app-events.jsonl.gz", EVENTS, "gzip")
    run = ok("import", "--db", tmp_path / "s.duckdb", dump)
    assert "(plain, gzip): 3 records, 3 new" in run.out
    assert "1 record(s): no time field (ts unknown)" in run.out
    rows = records(tmp_path / "s.duckdb")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("app-events", 0, 1, 1714564800000, 0),
        ("app-events", 0, 3, 1714564805000, 0),
        ("app-events", 0, 4, None, 0),
    ]
    assert rows[0][7] == EVENTS[0].rstrip(b"\n")  # the line itself is the payload
    assert [r[9] for r in rows] == ["OrderPlaced", "PaymentDone", "Shipped"]
    # Same file again: same coordinates, nothing new.
    assert "3 records, 0 new" in ok("import", "--db", tmp_path / "s.duckdb", dump).out


def test_time_field_and_topic_options(tmp_path: Path) -> None:
    dump = write(tmp_path / "x.jsonl", EVENTS)
    ok("import", "--db", tmp_path / "s.duckdb", "--topic", "orders", "--time-field", "meta.at", dump)
    rows = records(tmp_path / "s.duckdb")
    assert [(r[0], r[3]) for r in rows] == [("orders", None), ("orders", 1714564805000), ("orders", None)]


def test_time_field_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "choreo.toml"
    cfg.write_text('[import]\ntime_field = "meta.at"\ntopic = "from-config"\n')
    ok("import", "--db", tmp_path / "s.duckdb", "--config", cfg, write(tmp_path / "x.jsonl", EVENTS))
    assert [(r[0], r[3]) for r in records(tmp_path / "s.duckdb")][1] == ("from-config", 1714564805000)


def test_forced_format_and_bad_plain_lines(tmp_path: Path) -> None:
    # Looks like kcat (has coordinates), but the user says these are plain events.
    kcat_like = _line({"topic": "t", "partition": 0, "offset": 0, "payload": "x"})
    dump = write(tmp_path / "odd.json", [kcat_like, b"42\n", b"{broken\n"])
    run = ok("import", "--db", tmp_path / "s.duckdb", "--format", "plain", dump)
    assert "odd.json (plain): 1 records, 1 new" in run.out
    assert f"2 bad line(s) skipped: {dump}:2: not a JSON object; {dump}:3: not JSON" in run.out
    assert count(tmp_path / "s.duckdb") == 1
