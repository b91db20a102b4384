"""Hostile input at the native core's boundary: random bytes, random JSON
(huge numbers, deep nesting, control characters, non-UTF-8 in keys, header
names and values) and random header sets. Nothing raises, every line is a
record or a bad line, and the Arrow tables are whole. (cargo fuzz runs the
same decoders and the extractor without the per-record guards: README,
"Robustness".)"""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from choreo import _native
from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.config import ExtractConfig
from tests.support import record_strategies as rs

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))

hostile_json = st.one_of(
    rs.json_values(30).map(orjson.dumps),
    st.integers(1, 1200).map(lambda d: b"[" * d + b"1" + b"]" * d),
    st.integers(1, 1200).map(lambda d: b'{"a":' * d + b"1" + b"}" * d),
    st.sampled_from([b"1e999999", b"-" + b"9" * 5000, b"[" + b"9" * 4301 + b"]", b'"\\ud800\\udc00\\udbff"']),
    st.binary(max_size=300),
)


def _line(draw: st.DrawFn) -> bytes:
    return draw(st.one_of(rs.kcat_lines(), rs.choreo_lines(), rs.plain_lines(), hostile_json))


@st.composite
def dumps(draw: st.DrawFn) -> bytes:
    return b"".join(_line(draw).replace(b"\n", b" ") + b"\n" for _ in range(draw(st.integers(1, 8))))


@FUZZ
@given(dumps(), st.sampled_from(["kcat", "choreo", "plain"]), rs.extract_configs())
def test_any_lines_are_records_or_bad_lines(data: bytes, fmt: str, cfg: dict[str, object]) -> None:
    batch = EventBatch(Extractor(ExtractConfig.model_validate(cfg)), "fuzz")
    got = batch.add_lines(_native.LineDecoder(fmt, "t", None), data, 1)
    lines = [line + b"\n" for line in data.split(b"\n")[:-1]]
    blank = sum(1 for line in lines if len(line) <= 2 and not line.strip())
    assert got.lines == len(lines)
    assert got.records + len(got.bad) + blank == got.lines
    assert all(why for _, why in got.bad)
    events, ids = batch.tables()
    assert events.num_rows == got.records
    events.validate(full=True)
    ids.validate(full=True)


@FUZZ
@given(
    st.lists(st.tuples(rs.topics, rs.keys, rs.headers, st.one_of(rs.payloads, hostile_json)), max_size=6),
    rs.extract_configs(),
)
def test_any_records_extract_and_store(
    records: list[tuple[str, bytes | None, object, bytes | None]], cfg: dict[str, object]
) -> None:
    batch = EventBatch(Extractor(ExtractConfig.model_validate(cfg)), "fuzz")
    batch.add_records([(t, 0, i, None, 0, k, h, p) for i, (t, k, h, p) in enumerate(records)])  # type: ignore[misc]
    events, ids = batch.tables()
    assert events.num_rows == len(records)
    events.validate(full=True)
    ids.validate(full=True)


@FUZZ
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")), rs.time_values))
def test_any_time_value_is_a_time_or_none(value: object) -> None:
    ms = _native.parse_time_ms(value)
    assert ms is None or -(2**63) <= ms < 2**63


@FUZZ
@given(st.binary(max_size=400))
def test_format_detection_takes_any_line(line: bytes) -> None:
    assert _native.line_format(line) in (None, "kcat", "choreo", "plain")
