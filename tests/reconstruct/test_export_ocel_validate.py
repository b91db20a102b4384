"""The OCEL 2.0 check run after writing: it finds what breaks the standard's
constraints in each format, and an export that fails it leaves nothing."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import IO, Any

import orjson
import pytest

from choreo.reconstruct.export import ocel_text
from choreo.reconstruct.export.ocel import validate
from choreo.reconstruct.export.ocel_model import OcelModel, OcelTypes
from tests.support.export_data import build_store, run_choreo

T = "2024-05-01T08:00:00.000Z"
STATIC = "1970-01-01T00:00:00Z"


def json_layout(
    object_types: list[Any], event_types: list[Any], objects: list[Any], events: list[Any]
) -> bytes:
    """A log in the line layout choreo writes."""
    heads = [b'{"objectTypes":[', b'],"eventTypes":[', b'],"objects":[', b'],"events":[']
    lines: list[bytes] = []
    for head, items in zip(heads, (object_types, event_types, objects, events), strict=True):
        lines += [head, b",\n".join(orjson.dumps(i) for i in items)]
    return b"\n".join([*lines, b"]}"]) + b"\n"


def problems(path: Path, fmt: str, tmp_path: Path) -> str:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return " | ".join(validate(path, fmt, work).problems)


def broken_json(tmp_path: Path) -> Path:
    order_type = {"name": "order", "attributes": [{"name": "value", "type": "string"}]}
    ev_type = {"name": "Placed", "attributes": [{"name": "service", "type": "string"}]}
    objects = [
        {"id": "order=1", "type": "order", "attributes": [{"name": "value", "time": STATIC, "value": "1"}]},
        {
            "id": "order=2",
            "type": "order",
            "relationships": [{"objectId": "order=9", "qualifier": "belongs to"}],
        },
        {"id": "cart=1", "type": "cart"},
    ]
    events = [
        {
            "id": "e1",
            "type": "Placed",
            "time": T,
            "relationships": [{"objectId": "order=1", "qualifier": "q"}],
        },
        {"id": "e1", "type": "Placed", "time": T, "attributes": [{"name": "colour", "value": "red"}]},
        {
            "id": "e2",
            "type": "Shipped",
            "time": "yesterday",
            "relationships": [{"objectId": "nope", "qualifier": "q"}],
        },
    ]
    path = tmp_path / "bad.jsonocel"
    path.write_bytes(json_layout([order_type], [ev_type], objects, events))
    return path


def test_json_constraints(tmp_path: Path) -> None:
    found = problems(broken_json(tmp_path), "json", tmp_path)
    for expected in (
        "duplicate event ids: 'e1'",
        "undeclared event types: 'Shipped'",
        "undeclared object types: 'cart'",
        "event type 'Placed': attributes not declared: 'colour'",
        "events without a valid time: 'e2'",
        "event-to-object relations to missing objects: 'nope'",
        "object-to-object relations to missing objects: 'order=9'",
    ):
        assert expected in found


def test_json_framing(tmp_path: Path) -> None:
    good = json_layout([], [], [{"id": "a", "type": "t"}, {"id": "b", "type": "t"}], [])
    path = tmp_path / "f.jsonocel"
    path.write_bytes(good.replace(b'"t"},\n', b'"t"}\n'))
    assert "line 7: a missing comma" in problems(path, "json", tmp_path)
    path.write_bytes(good[: good.index(b'],"events"')])
    assert "ends early" in problems(path, "json", tmp_path)
    path.write_bytes(b'{"objects": []}\n')
    assert "not OCEL 2.0 JSON as choreo writes it" in problems(path, "json", tmp_path)


def test_xml_constraints_and_well_formedness(tmp_path: Path) -> None:
    path = tmp_path / "bad.xmlocel"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<log>\n<object-types>\n'
        '<object-type name="order"><attributes><attribute name="value" type="text"/></attributes>'
        "</object-type>\n"
        "</object-types>\n<event-types>\n"
        '<event-type name="Placed"><attributes/></event-type>\n'
        "</event-types>\n<objects>\n"
        '<object id="order=1" type="order"><objects><relationship object-id="x" qualifier="q"/></objects>'
        "</object>\n"
        '<object id="order=1" type="order"/>\n'
        "</objects>\n<events>\n"
        f'<event id="e1" type="Placed" time="{T}"><objects>'
        '<relationship object-id="order=2" qualifier="q"/></objects></event>\n'
        "</events>\n</log>\n",
        encoding="utf-8",
    )
    found = problems(path, "xml", tmp_path)
    for expected in (
        "attribute 'value' has no OCEL type ('text')",
        "duplicate object ids: 'order=1'",
        "object-to-object relations to missing objects: 'x'",
        "event-to-object relations to missing objects: 'order=2'",
    ):
        assert expected in found
    path.write_bytes(b'<log><events><event id="a\x01" type="t" time="x"/></events></log>')
    assert "not well-formed XML" in problems(path, "xml", tmp_path)


def test_sqlite_constraints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = build_store(tmp_path / "s.duckdb")
    path = tmp_path / "log.sqlite"
    code, _, err = run_choreo(["export", "ocel", *rec.args, "-o", str(path)], capsys)
    assert code == 0, err
    assert problems(path, "sqlite", tmp_path) == ""
    db = sqlite3.connect(path)
    (eid,) = db.execute("SELECT ocel_id FROM event LIMIT 1").fetchone()
    db.execute("INSERT INTO event_object VALUES (?, 'order=nope', 'q')", [eid])
    db.execute('DELETE FROM "event_OrderPlaced" WHERE rowid = 1')
    db.commit()
    db.close()
    found = problems(path, "sqlite", tmp_path)
    assert "event-to-object relations to missing objects: 'order=nope'" in found
    assert "events without a valid time" in found
    assert "event_object row" in found and "refers to a missing row of object" in found


def test_an_invalid_log_is_not_left_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer fault (an event written twice) fails the check: exit 2, one
    line, and neither the file nor the working directory remains."""
    real = ocel_text.write_json

    def twice(model: OcelModel, types: OcelTypes, out: IO[str]) -> None:
        buf = io.StringIO()
        real(model, types, buf)
        lines = buf.getvalue().splitlines()
        out.write("\n".join([*lines[:-2], lines[-2] + ",", lines[-2], lines[-1]]) + "\n")

    monkeypatch.setattr("choreo.reconstruct.export.ocel.write_json", twice)
    rec = build_store(tmp_path / "s.duckdb")
    out = tmp_path / "log.jsonocel"
    code, _, err = run_choreo(["export", "ocel", *rec.args, "-o", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "failed validation, nothing written" in err and "duplicate event ids" in err
    assert "wrote 45 events, read back 46" not in err  # the constraint is named first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["choreo.toml", "s.duckdb"]
