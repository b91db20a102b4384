"""kcat -J decoded in DuckDB stores exactly what the Python decoder stores:
every header shape, null and binary keys and payloads, escapes, odd and bad
lines (reported with the same line numbers), --strict, the fixture dumps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pytest

from choreo.errors import InputError
from choreo.store import Store
from collector.importers.kcat_sql import create_stage, decode_lines
from collector.importers.runner import ImportOptions, ImportReport, import_files
from collector.sql_extract import SqlExtractor
from tests.import_helpers import identifiers, kcat_line, ok, records, write

ROOT = Path(__file__).resolve().parent.parent
SQL = ImportOptions(workers=1, sql_kcat=True)
PYTHON = ImportOptions(workers=1, sql_kcat=False)


def _obj(**fields: Any) -> bytes:
    return orjson.dumps(fields) + b"\n"


def _import(db: Path, dumps: list[Path], opts: ImportOptions) -> ImportReport:
    with Store.open(db) as store, SqlExtractor() as sql:
        return import_files(store, [str(d) for d in dumps], sql, opts)


def _same(tmp_path: Path, *dumps: Path, strict: bool = False, block_bytes: int = 1 << 20) -> ImportReport:
    """Import with both decoders; both stores and reports must be equal."""
    sql_db, py_db = tmp_path / "sql.duckdb", tmp_path / "py.duckdb"
    opts = ImportOptions(workers=1, strict=strict, sql_kcat=True, sql_block_bytes=block_bytes)
    sql = _import(sql_db, list(dumps), opts)
    py = _import(py_db, list(dumps), ImportOptions(workers=1, strict=strict, sql_kcat=False))
    assert records(sql_db) == records(py_db)
    assert identifiers(sql_db) == identifiers(py_db)
    for a, b in zip(sql.files, py.files, strict=True):
        assert (a.lines, a.records, a.inserted, a.bad) == (b.lines, b.records, b.inserted, b.bad)
        assert a.damage == b.damage
        assert a.bad_examples == b.bad_examples
        assert a.notes == b.notes
        assert a.newest_ts_ms == b.newest_ts_ms
    return sql


HEADERS: list[object] = [
    ["correlation-id", "c-1", "retry", "1", "retry", "2", "empty", None],
    {"correlation-id": ["c-1"], "retry": ["1", "2"], "empty": [None]},
    {"correlation-id": "c-1", "retry": "1", "empty": None},
    [],
    {},
    None,
    ["x-\u00fc", "\u00e9t\u00e9", "esc", 'q"\\/\b\f\n\r\t\u0001'],
    {"a": []},
]


def test_header_shapes_and_values(tmp_path: Path) -> None:
    lines = [
        kcat_line("orders", 0, i, f'{{"type":"A","orderId":"o-{i}"}}', key=f"o-{i}", headers=h)
        for i, h in enumerate(HEADERS)
    ]
    report = _same(tmp_path, write(tmp_path / "d.json", lines))
    assert report.records == len(HEADERS)


def test_keys_payloads_timestamps(tmp_path: Path) -> None:
    lines = [
        kcat_line("t", 0, 0, None),  # tombstone, null key
        kcat_line("t", 0, 1, "", key=""),
        kcat_line("t", 0, 2, "plain text", key="k"),
        kcat_line("t", 0, 3, '{"s":"\u00fc\u4e2d\U0001f600","esc":"a\\"b\\\\c\\n"}', key="\u00fc"),
        kcat_line("t", 0, 4, "\x00\x01\x1f\x7f", key="\x00"),  # control characters: escaped by JSON
        kcat_line("t", 1, 5, "{}", ts=None),
        _obj(topic="t", partition=1, offset=6, tstype="logappend", ts=7, payload="{}"),
        _obj(topic="t", partition=1, offset=7, tstype="unknown", ts=-5, payload="{}"),
        _obj(topic="t", partition=1, offset=8, tstype=None, ts=None, key=None, payload="{}"),
        _obj(topic="t", partition=2**31 - 1, offset=2**63 - 1, ts=2**63 - 1, payload="x"),
        _obj(topic="t", partition=2, offset=0, ts=-(2**63) + 1, payload="x"),
        _obj(topic="t", partition=3, offset=0, payload={"avro": [1, 2.5, None]}, key=5),
        _obj(topic="t", partition=3, offset=1, payload="x", key_error="bad", payload_error="bad"),
        _obj(topic="t", partition=3, offset=2, payload=None, payload_error="bad"),
        # Escapes that only the Python decoder reads: surrogates, also lone ones.
        b'{"topic":"t","partition":4,"offset":0,"payload":"\\ud83d\\ude00 \\udcff \\ud800"}\n',
        b'{"topic":"t","partition":4,"offset":1,"payload":"\\u00e9\\u0000"}\n',
        # Whitespace and field order as other tools write them.
        b'  { "payload" : "x" , "offset" : 2 , "partition" : 4 , "topic" : "t" }  \n',
        b'{"topic":"t","partition":4,"offset":3,"payload":"x"}\r\n',
        # Duplicate keys: Python keeps the last one.
        b'{"topic":"t","partition":4,"offset":4,"payload":"first","payload":"last"}\n',
        b'{"topic":"t","partition":4,"offset":5,"p\\u0061yload":"first","payload":"last"}\n',
        b'{"topic":"t","topic":"u","partition":4,"offset":6,"payload":"x"}\n',
        b'{"topic":"t","partition":4,"offset":7,"payload":"x","broker":NaN}\n',
        b'{"topic":"t","partition":4,"offset":8,"payload":"x","broker":1e999}\n',
        b'{"topic":"t","partition":4,"offset":9,"payload":"x","nested":' + b"[" * 50 + b"]" * 50 + b"}\n",
    ]
    _same(tmp_path, write(tmp_path / "d.json", lines))


def test_raw_bytes_as_kcat_writes_them(tmp_path: Path) -> None:
    lines = [
        b'{"topic":"t","partition":1,"offset":9,"tstype":"create","ts":5,"broker":1,'
        b'"headers":["bin","\xff\\u0000"],"key":"k\xfe","payload":"\\u0000\\u0001\xff\xfe\x80abc\\"\\\\\\n"}\n',
        b'{"topic":"t","partition":1,"offset":10,"key":null,"payload":"\xc3\xa9 valid \xe4\xb8\xad"}\n',
        b'{"topic":"t\xff","partition":1,"offset":11,"payload":"x"}\n',
        b'{"topic":"t","partition":1,"offset":12,"headers":{"n\xff":"v\xfe"},"payload":"x"}\n',
        b'\xef\xbb\xbf{"topic":"t","partition":1,"offset":13,"payload":"bom"}\n',
        b'{"topic":"t","partition":1,"offset":14,"payload":"raw\ttab"}\n',
    ]
    _same(tmp_path, write(tmp_path / "d.json", lines))


BAD = [
    b"{not json\n",
    b"\n",
    b"   \n",
    b" \n",
    b"[1, 2]\n",
    b'"just a string"\n',
    b"null\n",
    b'{"topic":"t","partition":0,"offset":1,"payload":"x",}\n',
    b'{"topic":"t","partition":0,"offset":1,"payload":"x","b":[1,]}\n',
    b'{"topic":"t","partition":0,"offset":1,"payload":"x","b":inf}\n',
    b'{"topic":"t","partition":0,"offset":1,"payload":"x","b":nan}\n',
    b'{"topic":"t","partition":"0","offset":1,"payload":"x"}\n',
    b'{"topic":"t","partition":0.0,"offset":1,"payload":"x"}\n',
    b'{"topic":"t","partition":true,"offset":1,"payload":"x"}\n',
    b'{"topic":"t","partition":-1,"offset":1,"payload":"x"}\n',
    b'{"topic":"t","partition":2147483648,"offset":1,"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":9223372036854775808,"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":18446744073709551616,"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"ts":-9223372036854775808,"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"ts":1.5,"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"ts":"1","payload":"x"}\n',
    b'{"topic":"","partition":0,"offset":1,"payload":"x"}\n',
    b'{"topic":5,"partition":0,"offset":1,"payload":"x"}\n',
    b'{"partition":0,"offset":1,"payload":"x"}\n',
    b'{"topic":"t","offset":1,"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"tstype":"sometime","payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"tstype":1,"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"headers":["odd"],"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"headers":[1,"v"],"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"headers":[null,"v"],"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"headers":["n",5],"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"headers":{"h":[1]},"payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"headers":"h","payload":"x"}\n',
    b'{"topic":"t","partition":0,"offset":1,"payload":true}\n',
    b'{"topic":"t","partition":0,"offset":1,"payload":"x","deep":' + b"[" * 3000 + b"]" * 3000 + b"}\n",
    b'{"topic":"t","partition":0,"offset":1,"payload":"x","big":' + b"9" * 5000 + b"}\n",
    b'{"topic":"t","partition":0,"offset":1,"payload":"\\ud800"}\n',
    b'{"topic":"t","partition":0,"offset":1,"payload":"x"} trailing\n',
    b'{"topic":"t","partition":0,"offset":1,"payload":"x" /* c */}\n',
]


def test_bad_lines_named_with_the_same_numbers(tmp_path: Path) -> None:
    good = [kcat_line("t", 0, 100 + i, '{"type":"A"}') for i in range(len(BAD))]
    lines = [line for pair in zip(good, BAD, strict=True) for line in pair]
    lines.append(b'{"topic":"t","partition":0,"offset":999,"payload":"no newline at the end"}')
    report = _same(tmp_path, write(tmp_path / "d.json", lines))
    assert report.records > len(BAD)


@pytest.mark.parametrize("codec", ["none", "gzip", "zstd"])
def test_compressed_and_damaged(tmp_path: Path, codec: str) -> None:
    lines = [kcat_line("t", 0, i, f'{{"type":"A","orderId":"o-{i}"}}') for i in range(3000)]
    whole = write(tmp_path / f"d.{codec}", lines, codec)
    (tmp_path / "whole").mkdir()
    _same(tmp_path / "whole", whole)
    if codec != "none":
        cut = tmp_path / f"cut.{codec}"
        cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
        (tmp_path / "cut").mkdir()
        report = _same(tmp_path / "cut", cut)
        assert report.files[0].damage and 0 < report.records < 3000


def test_strict_stops_at_the_first_bad_line_and_stores_nothing(tmp_path: Path) -> None:
    lines = [kcat_line("t", 0, i, "{}") for i in range(50)]
    lines[30] = b'{"topic":"t","partition":0,"offset":1,"payload":"x",}\n'
    dump = write(tmp_path / "d.json", lines)
    good = write(tmp_path / "good.json", [kcat_line("u", 0, i, "{}") for i in range(5)])
    messages = []
    for name, opts in (("sql", SQL), ("py", PYTHON)):
        with Store.open(tmp_path / f"{name}.duckdb") as store, SqlExtractor() as sql:
            strict = ImportOptions(workers=1, strict=True, sql_kcat=opts.sql_kcat)
            with pytest.raises(InputError) as err:
                import_files(store, [str(good), str(dump)], sql, strict)
            messages.append(str(err.value))
            assert store.count_events() == 0
    assert messages[0] == messages[1]
    assert f"{dump}:31: " in messages[0]


def test_strict_imports_a_clean_dump(tmp_path: Path) -> None:
    dump = write(tmp_path / "d.json", [kcat_line("t", 0, i, "{}") for i in range(20)])
    assert _same(tmp_path, dump, strict=True).inserted == 20


def test_blocks_split_anywhere(tmp_path: Path) -> None:
    """Small blocks: lines cut at every block boundary land whole in one block."""
    lines = [kcat_line("t", i % 2, i, "x" * (i % 300), headers=["h", str(i)]) for i in range(500)]
    lines[123] = b"{broken\n"
    report = _same(tmp_path, write(tmp_path / "d.json", lines), block_bytes=1000)
    assert report.files[0].bad_examples == [(124, report.files[0].bad_examples[0][1])]


def test_reimport_and_duplicates_in_one_dump(tmp_path: Path) -> None:
    lines = [kcat_line("t", 0, i % 7, f'{{"n":{i}}}') for i in range(20)]
    dump = write(tmp_path / "d.json", lines)
    report = _same(tmp_path, dump, dump)
    assert report.inserted == 7


@pytest.mark.parametrize("fixture", sorted(p.parent.name for p in ROOT.glob("fixtures/*/dump.kcat.jsonl")))
def test_fixture_dumps(tmp_path: Path, fixture: str) -> None:
    report = _same(tmp_path, ROOT / "fixtures" / fixture / "dump.kcat.jsonl")
    assert report.records > 0 and report.bad == 0


def _left_for_python(lines: list[bytes]) -> list[int]:
    """Which of ``lines`` (numbered from 1) the SQL leaves to the Python decoder."""
    con = duckdb.connect()
    create_stage(con)
    table = pa.table(
        {
            "lineno": pa.array(range(1, len(lines) + 1), pa.int64()),
            "line": pa.array([line.decode() for line in lines], pa.large_string()),
        }
    )
    return decode_lines(con, table).tolist()


def test_kcat_form_is_decoded_in_sql() -> None:
    """Not a speed test: says which lines take the DuckDB path at all."""
    fixture = (ROOT / "fixtures" / "orders-clean" / "dump.kcat.jsonl").read_bytes().splitlines(keepends=True)
    kcat_form = [
        *fixture[:20],
        kcat_line("t", 0, 1, None),
        kcat_line("t", 0, 2, '{"a":"\\u00fc \u00fc \\n"}', key="k", headers=["a", None, "b", ""]),
        kcat_line("t", 0, 3, "x", ts=None, headers=[]),
    ]
    assert _left_for_python(kcat_form) == []
    others = [
        kcat_line("t", 0, 1, "x", headers={"a": ["1"]}),  # header maps: Python
        b'{"topic": "t", "partition": 0, "offset": 1, "payload": "x"}\n',  # spaces
        b'{"partition":0,"topic":"t","offset":1,"key":null,"payload":"x"}\n',  # field order
        b'{"topic":"t","partition":0,"offset":1,"key":null,"payload":"x"}',  # no final newline
        b'{"topic":"t","partition":0,"offset":1,"key":null,"payload":"\\u001f"}\n',  # DuckDB writes \u001F
    ]
    assert _left_for_python(others) == [1, 2, 3, 4, 5]


def test_cli_decoder_choice(tmp_path: Path) -> None:
    dump = ROOT / "fixtures" / "mixed" / "dump.kcat.jsonl"
    for decoder in ("python", "duckdb"):
        run = ok(
            "import",
            "--no-reconstruct",
            "--kcat-decoder",
            decoder,
            "--db",
            tmp_path / f"{decoder}.duckdb",
            dump,
        )
        assert "records" in run.out
    assert records(tmp_path / "python.duckdb") == records(tmp_path / "duckdb.duckdb")
    assert identifiers(tmp_path / "python.duckdb") == identifiers(tmp_path / "duckdb.duckdb")
