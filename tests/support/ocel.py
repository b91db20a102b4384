"""OCEL 2.0 files parsed with the standard library alone (whole-file JSON,
ElementTree, sqlite3), as an oracle independent of choreo's own reader."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


@dataclass
class Event:
    type: str
    time: str
    attributes: dict[str, str]
    relations: dict[str, str]  # object id -> qualifier


@dataclass
class Obj:
    type: str
    attributes: dict[str, str]
    relations: dict[str, str]  # target object id -> qualifier


@dataclass
class Parsed:
    events: dict[str, Event] = field(default_factory=dict)
    objects: dict[str, Obj] = field(default_factory=dict)
    event_types: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> attribute -> type
    object_types: dict[str, dict[str, str]] = field(default_factory=dict)

    def of_type(self, otype: str) -> dict[str, Obj]:
        return {k: o for k, o in self.objects.items() if o.type == otype}

    def type_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.objects.values():
            out[o.type] = out.get(o.type, 0) + 1
        return out

    @property
    def e2o(self) -> int:
        return sum(len(e.relations) for e in self.events.values())

    @property
    def o2o(self) -> int:
        return sum(len(o.relations) for o in self.objects.values())


def _rels(items: list[dict[str, Any]]) -> dict[str, str]:
    return {str(r["objectId"]): str(r["qualifier"]) for r in items}


def parse_json(path: Path) -> Parsed:
    doc = orjson.loads(path.read_bytes())
    out = Parsed()
    for key, target in (("eventTypes", out.event_types), ("objectTypes", out.object_types)):
        for t in doc[key]:
            target[t["name"]] = {a["name"]: a["type"] for a in t["attributes"]}
    for o in doc["objects"]:
        attrs = {a["name"]: str(a["value"]) for a in o.get("attributes", [])}
        out.objects[o["id"]] = Obj(o["type"], attrs, _rels(o.get("relationships", [])))
    for e in doc["events"]:
        attrs = {a["name"]: str(a["value"]) for a in e.get("attributes", [])}
        out.events[e["id"]] = Event(e["type"], e["time"], attrs, _rels(e.get("relationships", [])))
    return out


def parse_xml(path: Path) -> Parsed:
    root = ET.parse(path).getroot()
    out = Parsed()
    for tag, target in (
        ("event-types/event-type", out.event_types),
        ("object-types/object-type", out.object_types),
    ):
        for t in root.findall(tag):
            target[str(t.get("name"))] = {str(a.get("name")): str(a.get("type")) for a in t.iter("attribute")}

    def rels(elem: ET.Element) -> dict[str, str]:
        return {str(r.get("object-id")): str(r.get("qualifier")) for r in elem.iter("relationship")}

    def attrs(elem: ET.Element) -> dict[str, str]:
        return {str(a.get("name")): a.text or "" for a in elem.findall("attributes/attribute")}

    for o in root.findall("objects/object"):
        out.objects[str(o.get("id"))] = Obj(str(o.get("type")), attrs(o), rels(o))
    for e in root.findall("events/event"):
        out.events[str(e.get("id"))] = Event(str(e.get("type")), str(e.get("time")), attrs(e), rels(e))
    return out


def parse_sqlite(path: Path) -> Parsed:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    out = Parsed()
    meta = {"ocel_id", "ocel_time", "ocel_changed_field"}
    try:
        for kind, target in (("event", out.event_types), ("object", out.object_types)):
            for typ, suffix in db.execute(f"SELECT ocel_type, ocel_type_map FROM {kind}_map_type").fetchall():
                table = f'"{kind}_{suffix}"'
                cols = [str(r[1]) for r in db.execute(f"PRAGMA table_info({table})")]
                target[typ] = {c: "" for c in cols if c not in meta}
                for row in db.execute(f"SELECT * FROM {table}"):
                    values = {c: str(row[c]) for c in cols if c not in meta and row[c] is not None}
                    if kind == "event":
                        out.events[row["ocel_id"]] = Event(typ, str(row["ocel_time"]), values, {})
                    else:
                        out.objects[row["ocel_id"]] = Obj(typ, values, {})
        for eid, oid, q in db.execute(
            "SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object"
        ):
            out.events[eid].relations[oid] = q
        for src, tgt, q in db.execute(
            "SELECT ocel_source_id, ocel_target_id, ocel_qualifier FROM object_object"
        ):
            out.objects[src].relations[tgt] = q
    finally:
        db.close()
    return out


PARSERS = {"json": parse_json, "xml": parse_xml, "sqlite": parse_sqlite}
SUFFIX = {"json": "jsonocel", "xml": "xmlocel", "sqlite": "sqlite"}
