"""`choreo export xes`: the XES log parsed back equals the store."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest

from choreo.core.store import Store
from choreo.reconstruct.export.xes import export_xes
from tests.support.export_data import Recorded, build_store, run_choreo

NS = "{http://www.xes-standard.org/}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    path = tmp_path_factory.mktemp("xes") / "store.duckdb"
    return build_store(path)


def _value(elem: ET.Element, key: str) -> str:
    found = [c.get("value") for c in elem if c.get("key") == key]
    assert len(found) == 1, key
    return str(found[0])


def _parse(path: Path) -> dict[str, list[ET.Element]]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{NS}log" and root.get("xes.version") == "1849-2016"
    prefixes = {e.get("prefix") for e in root.iter(f"{NS}extension")}
    assert {"concept", "time", "org", "lifecycle"} <= prefixes
    return {_value(t, "concept:name"): t.findall(f"{NS}event") for t in root.iter(f"{NS}trace")}


def test_xes_equals_store(built: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    out = tmp_path / "log.xes"
    code, _, err = run_choreo(["export", "xes", *rec.args, "-o", str(out)], capsys)
    assert code == 0, err
    cases = _parse(out)
    with Store.open(rec.db, read_only=True) as store:
        expected: dict[str, list[tuple[str, str, str]]] = {}
        for iid, etype, svc, topic, part, off in store.query(
            'SELECT ie.instance_id, e.event_type, e.service, e.topic, e.partition, e."offset" '
            'FROM instance_events ie JOIN events e USING (topic, partition, "offset") '
            "WHERE ie.duplicate_of_seq IS NULL ORDER BY ie.instance_id, ie.seq"
        ):
            expected.setdefault(iid, []).append((etype, svc, f"{topic}/{part}/{off}"))
        n_instances = store.query("SELECT count(*) FROM instances")[0][0]
    assert len(cases) == n_instances == len(rec.orders)
    assert sum(len(evs) for evs in cases.values()) == rec.records - rec.duplicates
    assert f"{len(cases)} cases, {rec.records - rec.duplicates} events" in err
    got = {
        case: [
            (
                _value(e, "concept:name"),
                _value(e, "org:resource"),
                f"{_value(e, 'topic')}/{_value(e, 'partition')}/{_value(e, 'offset')}",
            )
            for e in events
        ]
        for case, events in cases.items()
    }
    assert got == expected  # same cases, same events, same per-case order
    # Each case's timestamps never go backwards (skew-adjusted), and every
    # event is an atomic, completed fact.
    for events in cases.values():
        stamps = [_value(e, "time:timestamp") for e in events]
        assert stamps == sorted(stamps)
        assert all(s.endswith("+00:00") for s in stamps)
        assert {_value(e, "lifecycle:transition") for e in events} == {"complete"}
    # The order's own paths, as produced.
    paths = sorted(tuple(t for t, _, _ in evs) for evs in got.values())
    assert paths == sorted(tuple(p) for p in rec.orders.values())


def test_xes_filter_to_stdout(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_choreo(["export", "xes", *built.args, "--status", "stuck", "-o", "-"], capsys)
    assert code == 0
    root = ET.fromstring(out)
    traces = list(root.iter(f"{NS}trace"))
    assert len(traces) == 1
    assert [_value(e, "concept:name") for e in traces[0].iter(f"{NS}event")] == [
        "OrderPlaced",
        "PaymentAuthorized",
    ]


def test_awkward_names_survive(tmp_path: Path) -> None:
    """Markup characters, quotes and control characters in event types and
    service names: escaped, or replaced where XML cannot carry them at all."""
    from choreo.collector.batch import EventBatch
    from choreo.collector.extract import Extractor
    from choreo.reconstruct.engine.pipeline import rebuild

    odd_type, odd_service = 'Odd<&>"Type\u0001\ttab\nline', 'svc "<x>" & co'
    batch = EventBatch(Extractor(), "test")
    for i, etype in enumerate((odd_type, "Plain")):
        payload = orjson.dumps({"type": etype, "service": odd_service, "orderId": "n-1"})
        batch.add("t", 0, i, 1_700_000_000_000 + i, 1, None, None, payload)
    db = tmp_path / "odd.duckdb"
    with Store.open(db) as store:
        store.append(*batch.tables())
        rebuild(store, now_ms=1_700_000_100_000)
        out = tmp_path / "odd.xes"
        export_xes(store, out)
    (events,) = _parse(out).values()
    assert [_value(e, "concept:name") for e in events] == [odd_type.replace("\u0001", "\ufffd"), "Plain"]
    assert {_value(e, "org:resource") for e in events} == {odd_service}


def test_lifecycle_and_resource_as_recorded(tmp_path: Path) -> None:
    """A payload's lifecycle transition and resource (or user) are exported as
    they were recorded; a user object is the subject, not who acted."""
    from choreo.reconstruct.engine.pipeline import rebuild
    from tests.support.saga_builder import T0, Log

    log = Log()
    fields: list[tuple[str, dict[str, object]]] = [
        ("ReviewStarted", {"lifecycle:transition": "start", "resource": "alice"}),
        ("ReviewDone", {"lifecycle": "complete", "user": "bob", "resource": ""}),
        ("ReviewNoted", {"user": {"id": "u-1"}, "lifecycle": ["odd"]}),
        ("ReviewClosed", {"org:resource": 42, "lifecycle": "ate_abort"}),
    ]
    for i, (etype, extra) in enumerate(fields):
        log.add("reviews", T0 + i, {"type": etype, "service": "review-service", "reviewId": "r-1", **extra})
    db = log.store(tmp_path / "r.duckdb")
    with Store.open(db) as store:
        rebuild(store, now_ms=T0 + 60_000)
        export_xes(store, tmp_path / "r.xes")
    (events,) = _parse(tmp_path / "r.xes").values()
    got = [
        (
            _value(e, "concept:name"),
            _value(e, "lifecycle:transition"),
            _value(e, "org:resource"),
            _value(e, "service"),
        )
        for e in events
    ]
    assert got == [
        ("ReviewStarted", "start", "alice", "review-service"),
        ("ReviewDone", "complete", "bob", "review-service"),
        ("ReviewNoted", "complete", "review-service", "review-service"),
        ("ReviewClosed", "ate_abort", "42", "review-service"),
    ]
