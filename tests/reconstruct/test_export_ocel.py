"""`choreo export ocel`: the order saga of tests/export_data.py as OCEL 2.0,
in each format, parsed back with the standard library and compared with what
was produced."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from choreo.core.store import Store
from tests.support.export_data import TOPICS, TRACE_ID, TRACED_ORDER, Recorded, build_store, run_choreo
from tests.support.ocel import PARSERS, SUFFIX, Parsed

FORMATS = ("json", "xml", "sqlite")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    return build_store(tmp_path_factory.mktemp("ocel") / "store.duckdb")


def export(rec: Recorded, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code, _, err = run_choreo(["export", "ocel", *rec.args, "-o", str(out), *extra], capsys)
    return code, err


def expected_relations(rec: Recorded) -> list[tuple[str, dict[str, str]]]:
    """Per produced event (duplicates once): its type and objects with qualifiers."""
    out = []
    for order, types in rec.orders.items():
        for etype in types:
            rels = {"order=" + order: "key" if etype == "ShipmentDelivered" else "payload:orderId"}
            if etype.startswith("Shipment"):
                rels["shipment=s-" + order] = "payload:shipmentId"
            if order == TRACED_ORDER:
                rels["trace=" + TRACE_ID] = "header:traceparent"
            out.append((etype, rels))
    return out


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def logs(built: Recorded, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Parsed]:
    # Module-scoped, so without capsys: the CLI's exit code is checked directly.
    from choreo.cli.main import main

    where = tmp_path_factory.mktemp("ocel-out")
    out: dict[str, Parsed] = {}
    for fmt in FORMATS:
        path = where / f"log.{SUFFIX[fmt]}"
        with pytest.raises(SystemExit) as exc:
            main(["export", "ocel", *built.args, "-o", str(path)])
        assert exc.value.code == 0
        out[fmt] = PARSERS[fmt](path)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_events_objects_and_relations(built: Recorded, logs: dict[str, Parsed], fmt: str) -> None:
    log = logs[fmt]
    expected = expected_relations(built)
    assert len(log.events) == len(expected) == built.records - built.duplicates
    # Each event relates to its instance and to every identifier object it carries.
    got = [
        (e.type, sorted((k, v) for k, v in e.relations.items() if v != "instance"))
        for e in log.events.values()
    ]
    assert sorted(got) == sorted((t, sorted(r.items())) for t, r in expected)
    sagas = log.of_type("saga:order")
    assert len(sagas) == len(built.orders)
    for eid, ev in log.events.items():
        (saga,) = [oid for oid, q in ev.relations.items() if q == "instance"]
        assert saga in sagas and ev.attributes["instance"] == saga
        assert ev.attributes["status"] == sagas[saga].attributes["status"]
        topic, partition, offset = eid.rsplit("/", 2)
        assert TOPICS[ev.type] == topic == ev.attributes["topic"]
        assert (ev.attributes["partition"], ev.attributes["offset"]) == (partition, offset)
    assert log.type_counts() == {"order": 10, "shipment": 8, "trace": 1, "saga:order": 10}
    assert {o.attributes["role"] for o in log.objects.values() if not o.type.startswith("saga:")} == {
        "identifier"
    }
    # Stitching's links: a shipment belongs to its order, the trace to the order it traced.
    o2o = {(src, tgt, q) for src, o in log.objects.items() for tgt, q in o.relations.items()}
    expected_o2o = {(f"shipment=s-o-{i}", f"order=o-{i}", "belongs to") for i in range(1, 9)}
    assert o2o == expected_o2o | {(f"trace={TRACE_ID}", f"order={TRACED_ORDER}", "belongs to")}
    assert set(log.event_types) == {ev.type for ev in log.events.values()}
    assert set(log.object_types) == set(log.type_counts())


def test_event_time_is_the_adjusted_time(built: Recorded, logs: dict[str, Parsed]) -> None:
    with Store.open(built.db, read_only=True) as store:
        rows = store.query(
            'SELECT ie.topic, ie.partition, ie."offset", ie.adj_ts_ms, e.ts_ms FROM instance_events ie '
            'JOIN events e USING (topic, partition, "offset") WHERE ie.duplicate_of_seq IS NULL'
        )
    adjusted = {f"{t}/{p}/{o}": adj for t, p, o, adj, _ in rows}
    assert any(adj != ts for *_, adj, ts in rows)  # o-2's inventory clock ran behind
    for fmt in FORMATS:
        got = {eid: int(_instant(e.time).timestamp() * 1000 + 0.5) for eid, e in logs[fmt].events.items()}
        assert got == adjusted, fmt


def test_formats_agree(logs: dict[str, Parsed]) -> None:
    base = logs["json"]
    for fmt in ("xml", "sqlite"):
        log = logs[fmt]
        assert {k: (e.type, e.attributes, e.relations) for k, e in log.events.items()} == {
            k: (e.type, e.attributes, e.relations) for k, e in base.events.items()
        }
        assert {k: _instant(e.time) for k, e in log.events.items()} == {
            k: _instant(e.time) for k, e in base.events.items()
        }
        assert {k: (o.type, o.attributes, o.relations) for k, o in log.objects.items()} == {
            k: (o.type, o.attributes, o.relations) for k, o in base.objects.items()
        }


def test_filters_and_summary(built: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "stuck.jsonocel"
    code, err = export(built, out, capsys, "--status", "stuck")
    assert code == 0, err
    log = PARSERS["json"](out)
    assert sorted(e.type for e in log.events.values()) == ["OrderPlaced", "PaymentAuthorized"]
    assert log.type_counts() == {"order": 1, "saga:order": 1}
    assert "2 events, 2 objects (order 1, saga:order 1), 4 event-object and 0 object-object" in err
    assert "validated" in err
    code, err = export(built, tmp_path / "w.jsonocel", capsys, "--workflow", "nope")
    assert code == 2 and "no workflow 'nope'" in err and "Traceback" not in err


def test_output_names_and_formats(
    built: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suffix chooses; --format overrides it.
    code, _ = export(built, tmp_path / "a.db", capsys)
    assert code == 0 and (tmp_path / "a.db").read_bytes().startswith(b"SQLite format 3")
    code, _ = export(built, tmp_path / "b.json", capsys, "--format", "xml")
    assert code == 0 and (tmp_path / "b.json").read_text().startswith("<?xml")
    for bad, message in (("c.txt", "cannot tell the OCEL format"), ("-", "give a file name")):
        code, err = export(built, tmp_path / bad if bad != "-" else Path("-"), capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    code, err = export(built, tmp_path, capsys, "--format", "json")
    assert code == 2 and "directory" in err
    # No -o: choreo.jsonocel (or the format's own name) in the current directory.
    monkeypatch.chdir(tmp_path)
    code, _, err = run_choreo(["export", "ocel", *built.args, "--format", "sqlite"], capsys)
    assert code == 0 and (tmp_path / "choreo.sqlite").exists(), err
    code, _, err = run_choreo(["export", "ocel", *built.args], capsys)
    assert code == 0 and (tmp_path / "choreo.jsonocel").exists(), err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".choreo-ocel")]
