"""The native core reproduces the Python record path it replaced, field for field.

tests/data/native_reference holds what the Python extractor and decoders
(collector/extract.py, batch.py, importers/{kcat,jsonl,plain,record}.py)
made of every fixture and of 36,000 randomized records and dump lines
(tests/support/record_strategies.py), recorded before they were removed by
scripts/record_native_reference.py (git show ac4024b). Every case is replayed
through the native core here.

Where the Python path crashed, the native one must not: a time past 64-bit
milliseconds (issue 15, finding 1) is stored as NULL and noted instead of
raising OverflowError. Cases that cannot reach a decoder (a "line" holding a
newline before its end, blank lines the importer skips) are left out.
"""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import zstandard
from pydantic import ValidationError

from choreo import _native
from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor, parse_time_ms
from choreo.collector.importers.source import default_topic
from choreo.core.config import ExtractConfig
from choreo.core.errors import ConfigError

DATA = Path(__file__).resolve().parent.parent / "data" / "native_reference"
INT64 = range(-(2**63), 2**63)
NOTE_EVENT_TIME = "event time out of range (stored without it)"
NOTE_TS = "time field out of range (ts unknown)"


def dec(x: Any) -> Any:
    """The recorded JSON form back to Python values (see the recorder's ``enc``)."""
    if isinstance(x, dict):
        if set(x) == {"$b"}:
            return base64.b64decode(x["$b"])
        if set(x) == {"$s"}:
            return base64.b64decode(x["$s"]).decode("utf-8", "surrogatepass")
        if set(x) == {"$f"}:
            return float(x["$f"])
        if set(x) == {"$i"}:
            return int(x["$i"])
        return {k: dec(v) for k, v in x.items()}
    if isinstance(x, list):
        return [dec(v) for v in x]
    return x


@cache
def cases() -> dict[str, list[dict[str, Any]]]:
    raw = zstandard.ZstdDecompressor().decompress(
        (DATA / "cases.jsonl.zst").read_bytes(), max_output_size=1 << 30
    )
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in raw.splitlines():
        case = dec(json.loads(line))
        by_kind[case["kind"]].append(case)
    return by_kind


@cache
def extractor(cfg_json: str) -> Extractor | str:
    """The extractor of a recorded config, or the error it was refused with
    (sources are checked when the config is loaded, and again by the core)."""
    try:
        return Extractor(ExtractConfig(**json.loads(cfg_json)))
    except ValidationError as exc:
        err = exc.errors()[0]
        return f"extract.{err['loc'][0]}: {err['msg'].removeprefix('Value error, ')}"
    except ConfigError as exc:
        return str(exc)


def _headers(raw: list[list[Any]] | None) -> list[tuple[str, bytes | None]] | None:
    return [(n, v) for n, v in raw] if raw else None


def _time_fits(ms: object) -> bool:
    return not isinstance(ms, int) or ms in INT64


def _expected_fields(ex: dict[str, Any]) -> dict[str, Any]:
    """What the native path stores for what Python extracted (a time past
    int64 made Python raise when building Arrow columns: stored as NULL)."""
    want = dict(ex)
    want["identifiers"] = [tuple(i) for i in ex["identifiers"]]
    if not _time_fits(want["event_time_ms"]):
        want["event_time_ms"] = None
    return want


def test_extraction_reproduces_python() -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases()["extract"]:
        groups[json.dumps(case["config"], sort_keys=True)].append(case)
    checked = 0
    for cfg_json, group in groups.items():
        ex = extractor(cfg_json)
        if isinstance(ex, str):
            for case in group:
                assert case["out"] == {"config_error": ex}, case["config"]
            continue
        got = ex.extract_many([(c["topic"], c["key"], _headers(c["headers"]), c["payload"]) for c in group])
        for case, out in zip(group, got, strict=True):
            want = _expected_fields(case["out"])
            fields = {k: getattr(out, k) for k in want}
            assert fields == want, case
            python_crashed = "raised" in case.get("arrow", {})
            assert out.time_out_of_range == python_crashed, case
            checked += 1
    assert checked > 9000


def _rows(batch: EventBatch) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    events, ids = batch.tables()
    return events.to_pylist(), ids.to_pylist()


def _line_cases() -> Iterator[dict[str, Any]]:
    for kind in ("kcat", "choreo", "plain"):
        for case in cases()[kind]:
            line = case["line"]
            if b"\n" in line[:-1] or (len(line) <= 2 and not line.strip()):
                continue  # not a line an importer hands over (split at newlines; blank)
            yield case


def test_dump_lines_reproduce_python() -> None:
    seen: Counter[str] = Counter()
    for case in _line_cases():
        kind, line, lineno = case["kind"], case["line"], case["lineno"]
        ex = extractor(json.dumps(case["config"], sort_keys=True))
        assert isinstance(ex, Extractor)
        topic = case.get("topic") or default_topic("dump.jsonl")
        decoder = _native.LineDecoder(kind, topic, case.get("time_field"))
        batch = EventBatch(ex, "ref")
        got = batch.add_lines(decoder, line, lineno)
        assert got.lines == 1, case
        out = case["out"]
        if "bad" in out:
            assert got.bad == [(lineno, out["bad"])], case
            assert got.records == 0
            seen["bad"] += 1
            continue
        assert got.bad == [], case
        (row,), ids = _rows(batch)
        notes = Counter(out.get("notes", {}))
        if "raised" in out:
            # Python's plain decoder crashed on a time of NaN or infinity.
            assert kind == "plain" and row["ts_ms"] is None, case
            notes[NOTE_TS] += 1
            seen["python crashed"] += 1
        else:
            topic_, partition, offset, ts, ts_type, key, headers, payload = out["record"]
            if not _time_fits(ts):
                ts = None
                notes[NOTE_TS] += 1
                seen["python crashed"] += 1
            stored_headers = [(h["name"], h["value"]) for h in row["headers"]]
            assert (row["topic"], row["partition"], row["offset"], row["ts_ms"], row["ts_type"]) == (
                topic_,
                partition,
                offset,
                ts,
                ts_type,
            ), case
            assert (row["key"], stored_headers, row["payload"]) == (
                key,
                [tuple(h) for h in headers or ()],
                payload,
            ), case
            want = _expected_fields(case["extracted"])
            if not _time_fits(case["extracted"]["event_time_ms"]):
                notes[NOTE_EVENT_TIME] += 1
            stored = {k: row[k] for k in want if k != "identifiers"}
            assert stored == {k: v for k, v in want.items() if k != "identifiers"}, case
            assert [(i["name"], i["value"]) for i in ids] == want["identifiers"], case
            seen["record"] += 1
        assert batch.notes == notes, case
    assert seen["record"] > 8000 and seen["bad"] > 3000, seen


def test_times_reproduce_python() -> None:
    for case in cases()["time"]:
        out = case["out"]
        want = out.get("ms")
        if "raised" in out or not _time_fits(want):
            want = None  # Python raised, or gave a time past int64 that could not be stored
        assert parse_time_ms(case["value"]) == want, case


@cache
def fixture_rows() -> dict[str, Any]:
    rows: dict[str, Any] = dec(
        json.loads(zstandard.ZstdDecompressor().decompress((DATA / "fixtures.json.zst").read_bytes()))
    )
    return rows


@pytest.mark.parametrize("name", ["mixed", "orders-clean", "orders-skew-dups", "orders-stalled"])
def test_fixture_stores_are_identical(name: str, tmp_path: Path) -> None:
    from choreo.collector.importers.runner import import_files
    from choreo.core.config import load_config
    from choreo.core.store import Store

    src = Path(__file__).resolve().parents[2] / "fixtures" / name
    config = load_config(src / "choreo.toml")
    with Store.open(tmp_path / "s.duckdb") as store:
        import_files(store, [str(src / "dump.kcat.jsonl")], Extractor(config.extract))
        events = store.con.execute(
            'SELECT * EXCLUDE (ingested_ms, source), source FROM events ORDER BY topic, partition, "offset"'
        ).fetchall()
        ids = store.con.execute(
            'SELECT * FROM identifiers ORDER BY topic, partition, "offset", name, value'
        ).fetchall()
    want = fixture_rows()[name]
    # The source names the imported file by its absolute path: the reference was
    # recorded in another checkout, so only the path inside the repository is compared.
    inside = f"fixtures/{name}/dump.kcat.jsonl"
    assert all(str(r[-1]).startswith("import:") and str(r[-1]).endswith(inside) for r in events)
    assert all(str(r[-1]).startswith("import:") and str(r[-1]).endswith(inside) for r in want["events"])
    assert [list(r)[:-1] for r in events] == [r[:-1] for r in want["events"]]
    assert [list(r) for r in ids] == want["identifiers"]
