"""Record what the Python record path makes of every fixture and of a large
randomized corpus, before the native core replaces it.

Writes tests/data/native_reference/{cases.jsonl.zst, fixtures.json.zst}: each
case is an input (an extraction call, a dump line of some format, a time
value) with the Python path's output, or the exception it raised. The
differential test (tests/collector/test_native_reference.py) replays every
case through the native core and compares field for field.

This script imports the Python extractor and decoders, which were removed
with the native core; it runs at the commit that recorded the corpus (see
git log of tests/data/native_reference).

    .venv/bin/python scripts/record_native_reference.py
"""

from __future__ import annotations

import base64
import math
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import zstandard
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from choreo.config import ExtractConfig  # noqa: E402
from choreo.errors import ConfigError  # noqa: E402
from choreo.store import Store  # noqa: E402
from collector.batch import EventBatch  # noqa: E402
from collector.extract import Extractor, parse_time_ms  # noqa: E402
from collector.importers.decoders import make_decoder  # noqa: E402
from collector.importers.record import BadLine  # noqa: E402
from collector.importers.runner import import_files  # noqa: E402
from tests.support import record_strategies as rs  # noqa: E402

OUT = ROOT / "tests" / "data" / "native_reference"


def enc(x: Any) -> Any:
    """JSON-safe form: bytes as {"$b": base64}, text with lone surrogates as {"$s": ...}."""
    if isinstance(x, bytes):
        return {"$b": base64.b64encode(x).decode()}
    if isinstance(x, str):
        try:
            x.encode("utf-8")
        except UnicodeEncodeError:
            return {"$s": base64.b64encode(x.encode("utf-8", "surrogatepass")).decode()}
        return x
    if isinstance(x, float) and not math.isfinite(x):
        return {"$f": repr(x)}
    if isinstance(x, int) and not isinstance(x, bool) and not -(2**63) <= x < 2**64:
        return {"$i": str(x)}
    if isinstance(x, tuple | list):
        return [enc(v) for v in x]
    if isinstance(x, dict):
        return {k: enc(v) for k, v in x.items()}
    return x


def raised(exc: BaseException) -> dict[str, str]:
    return {"raised": f"{type(exc).__name__}: {exc}"[:200]}


def extracted(ex: Any) -> dict[str, Any]:
    return {
        "event_type": ex.event_type,
        "service": ex.service,
        "event_id": ex.event_id,
        "causation_id": ex.causation_id,
        "trace_id": ex.trace_id,
        "event_time_ms": ex.event_time_ms,
        "payload_kind": ex.payload_kind,
        "identifiers": ex.identifiers,
    }


def arrow_ok(extractor: Extractor, record: tuple[Any, ...]) -> dict[str, Any]:
    """Whether the record survives EventBatch's Arrow conversion (issue 15 finding 1)."""
    batch = EventBatch(extractor, "ref")
    try:
        batch.add(*record)
        batch.tables()
    except Exception as exc:
        return raised(exc)
    return {"ok": True}


def extractor_for(cfg: dict[str, Any]) -> Extractor | dict[str, str]:
    try:
        return Extractor(ExtractConfig(**cfg))
    except ConfigError as exc:
        return {"config_error": str(exc)}


def extract_case(args: tuple[dict[str, Any], str, bytes | None, Any, bytes | None]) -> dict[str, Any]:
    cfg, topic, key, headers, payload = args
    case: dict[str, Any] = {
        "kind": "extract", "config": cfg, "topic": topic, "key": key, "headers": headers, "payload": payload,
    }  # fmt: skip
    ex = extractor_for(cfg)
    if isinstance(ex, dict):
        case["out"] = ex
        return case
    try:
        case["out"] = extracted(ex.extract(topic, key, headers, payload))
    except Exception as exc:
        case["out"] = raised(exc)
        return case
    case["arrow"] = arrow_ok(ex, (topic, 0, 0, 1, 1, key, headers, payload))
    return case


LineArgs = tuple[bytes, int, dict[str, Any], str | None, str | None]


def line_case(fmt: str) -> Callable[[LineArgs], dict[str, Any]]:
    def run(args: LineArgs) -> dict[str, Any]:
        line, lineno, cfg, topic, time_field = args
        case: dict[str, Any] = {"kind": fmt, "line": line, "lineno": lineno, "config": cfg}
        if fmt == "plain":
            case["topic"], case["time_field"] = topic, time_field
        decoder = make_decoder(fmt, "dump.jsonl", topic, time_field)
        try:
            record = decoder.decode(line, lineno)
        except BadLine as exc:
            case["out"] = {"bad": str(exc)}
            return case
        except Exception as exc:
            case["out"] = raised(exc)
            return case
        case["out"] = {"record": list(record), "notes": dict(decoder.notes)}
        ex = extractor_for(cfg)
        if isinstance(ex, Extractor):
            try:
                case["extracted"] = extracted(ex.extract(record[0], record[5], record[6], record[7]))
                case["arrow"] = arrow_ok(ex, record)
            except Exception as exc:
                case["extracted"] = raised(exc)
        return case

    return run


def time_case(value: Any) -> dict[str, Any]:
    case: dict[str, Any] = {"kind": "time", "value": value}
    try:
        case["out"] = {"ms": parse_time_ms(value)}
    except Exception as exc:
        case["out"] = raised(exc)
    return case


def record(strategy: st.SearchStrategy[Any], fn: Callable[[Any], dict[str, Any]], n: int) -> list[Any]:
    out: list[Any] = []

    @settings(
        max_examples=n, database=None, derandomize=True, deadline=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.generate],
    )  # fmt: skip
    @given(strategy)
    def run(x: Any) -> None:
        out.append(enc(fn(x)))

    run()
    return out


def fixture_rows(name: str, tmp: Path) -> dict[str, Any]:
    src = ROOT / "fixtures" / name
    cfg = tomllib.loads((src / "choreo.toml").read_text()).get("extract", {})
    db = tmp / f"{name}.duckdb"
    with Store.open(db) as store:
        import_files(store, [str(src / "dump.kcat.jsonl")], Extractor(ExtractConfig(**cfg)))
        events = store.con.execute(
            'SELECT * EXCLUDE (ingested_ms) FROM events ORDER BY topic, partition, "offset"'
        ).fetchall()
        ids = store.con.execute(
            'SELECT * FROM identifiers ORDER BY topic, partition, "offset", name, value'
        ).fetchall()
    return {"events": enc([list(r) for r in events]), "identifiers": enc([list(r) for r in ids])}


def main() -> None:
    lineno = st.integers(1, 10**6)
    cfgs = rs.extract_configs()
    plain_topic = st.one_of(st.none(), rs.topics)
    time_field = st.one_of(st.none(), st.sampled_from(["ts", "meta.at", "time", "a.b", "@timestamp"]))
    plan = [
        (st.tuples(rs.extract_configs(allow_bad=True), rs.topics, rs.keys, rs.headers, rs.payloads),
         extract_case, 12000),
        (st.tuples(rs.kcat_lines(), lineno, cfgs, st.none(), st.none()), line_case("kcat"), 8000),
        (st.tuples(rs.choreo_lines(), lineno, cfgs, st.none(), st.none()), line_case("choreo"), 4000),
        (st.tuples(rs.plain_lines(), lineno, cfgs, plain_topic, time_field), line_case("plain"), 4000),
        (rs.time_values, time_case, 8000),
    ]  # fmt: skip
    cases: list[Any] = []
    for strategy, fn, n in plan:
        got = record(strategy, fn, n)
        print(f"{len(got)} cases from {fn.__name__ if hasattr(fn, '__name__') else fn}", file=sys.stderr)
        cases.extend(got)
    OUT.mkdir(parents=True, exist_ok=True)
    raw = b"".join(orjson.dumps(c) + b"\n" for c in cases)
    (OUT / "cases.jsonl.zst").write_bytes(zstandard.ZstdCompressor(level=19).compress(raw))
    names = sorted(p.name for p in (ROOT / "fixtures").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = {name: fixture_rows(name, Path(tmp)) for name in names}
    packed = zstandard.ZstdCompressor(level=19).compress(orjson.dumps(fixtures))
    (OUT / "fixtures.json.zst").write_bytes(packed)
    print(f"{len(cases)} cases, {len(raw) / 1e6:.1f} MB raw", file=sys.stderr)


if __name__ == "__main__":
    main()
