"""Read a written OCEL 2.0 log back into an ``OcelCheck``, streaming.

- XML: any OCEL 2.0 XML, parsed by expat (which also proves it well-formed).
- JSON: the line layout ``ocel_text`` writes (one type, object or event per
  line between fixed section lines); each line is parsed as JSON and the
  framing and commas are checked, so a file that passes is valid JSON.
- SQLite: the standard's tables, plus SQLite's own foreign key check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.parsers import expat

import orjson

from choreo.reconstruct.export.ocel_check import OcelCheck

_JSON_SECTIONS = (b'{"objectTypes":[', b'],"eventTypes":[', b'],"objects":[', b'],"events":[', b"]}")


class _Malformed(Exception):
    pass


def _str(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise _Malformed(f"{key!r} is missing or not a string")
    return value


def _list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise _Malformed(f"{key!r} is not a list of objects")
    return value


def _json_element(section: int, doc: Any, check: OcelCheck) -> None:
    if not isinstance(doc, dict):
        raise _Malformed("not a JSON object")
    if section in (0, 1):
        attrs = [(_str(a, "name"), _str(a, "type")) for a in _list(doc, "attributes")]
        check.declare("object" if section == 0 else "event", _str(doc, "name"), attrs)
        return
    ident, typ = _str(doc, "id"), _str(doc, "type")
    names = tuple(_str(a, "name") for a in _list(doc, "attributes"))
    rels = [(_str(r, "objectId"), r.get("qualifier")) for r in _list(doc, "relationships")]
    if section == 2:
        check.obj(ident, typ, names)
        for target, q in rels:
            check.o2o(ident, target, q if isinstance(q, str) else None)
    else:
        check.event(ident, typ, _str(doc, "time"), names)
        for target, q in rels:
            check.e2o(ident, target, q if isinstance(q, str) else None)


def read_json(path: Path, check: OcelCheck) -> None:
    section = -1
    comma = False  # the previous element line ended with a comma
    elements = 0  # in the current section
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip(b"\r\n")
            try:
                if section + 1 < len(_JSON_SECTIONS) and line == _JSON_SECTIONS[section + 1]:
                    if comma:
                        raise _Malformed("a comma before the end of a list")
                    section, elements = section + 1, 0
                    continue
                if section < 0 or section >= len(_JSON_SECTIONS) - 1:
                    if line.strip():
                        raise _Malformed("not OCEL 2.0 JSON as choreo writes it")
                    continue
                if not line.strip():
                    continue
                if elements and not comma:
                    raise _Malformed("a missing comma")
                comma = line.endswith(b",")
                _json_element(section, orjson.loads(line[:-1] if comma else line), check)
                elements += 1
            except (_Malformed, orjson.JSONDecodeError) as exc:
                check.problem(f"line {n}: {exc}")
                return
    if section != len(_JSON_SECTIONS) - 1:
        check.problem("the file ends early (truncated?)")


def read_xml(path: Path, check: OcelCheck) -> None:
    stack: list[str] = []
    declaring: list[Any] = []  # [kind, name, [(attr, type)]]
    owner: list[Any] = []  # [kind, id, type, [attr names]]

    def start(tag: str, attrs: dict[str, str]) -> None:
        stack.append(tag)
        depth = len(stack)
        section = stack[1] if depth > 1 else ""
        if depth == 1 and tag != "log":
            raise _Malformed(f"the root element is <{tag}>, not <log>")
        if depth == 3:
            if tag in ("object-type", "event-type"):
                declaring[:] = [tag.split("-")[0], attrs["name"], []]
            elif section == "objects" and tag == "object":
                owner[:] = ["object", attrs["id"], attrs["type"], []]
            elif section == "events" and tag == "event":
                owner[:] = ["event", attrs["id"], attrs["type"], []]
                owner.append(attrs["time"])
            else:
                raise _Malformed(f"unexpected <{tag}> in <{section}>")
        elif depth == 5 and tag == "attribute":
            if declaring:
                declaring[2].append((attrs["name"], attrs.get("type")))
            elif owner:
                owner[3].append(attrs["name"])
        elif depth == 5 and tag == "relationship" and owner:
            if owner[0] == "object":
                check.o2o(owner[1], attrs["object-id"], attrs.get("qualifier"))
            else:
                check.e2o(owner[1], attrs["object-id"], attrs.get("qualifier"))

    def end(tag: str) -> None:
        if len(stack) == 3:
            if declaring:
                check.declare(declaring[0], declaring[1], declaring[2])
                declaring.clear()
            if owner:
                if owner[0] == "object":
                    check.obj(owner[1], owner[2], tuple(owner[3]))
                else:
                    check.event(owner[1], owner[2], owner[4], tuple(owner[3]))
                owner.clear()
        stack.pop()

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with path.open("rb") as f:
            parser.ParseFile(f)
    except expat.ExpatError as exc:
        check.problem(f"not well-formed XML: {exc}")
    except KeyError as exc:
        check.problem(f"line {parser.CurrentLineNumber}: <{stack[-1]}> has no {exc.args[0]!r}")
    except _Malformed as exc:
        check.problem(f"line {parser.CurrentLineNumber}: {exc}")


_STANDARD_TABLES = ("event", "object", "event_object", "object_object", "event_map_type", "object_map_type")
_META_COLUMNS = {"ocel_id", "ocel_time", "ocel_changed_field"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(db: sqlite3.Connection, sql: str, each: Callable[..., None], params: tuple[Any, ...] = ()) -> None:
    cur = db.execute(sql, params)
    while rows := cur.fetchmany(10_000):
        for r in rows:
            each(*(None if v is None else str(v) for v in r))


def read_sqlite(path: Path, check: OcelCheck) -> None:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in _STANDARD_TABLES if t not in tables]
        if missing:
            check.problem(f"missing tables: {', '.join(missing)}")
            return
        typed: dict[str, list[tuple[str, str]]] = {}
        for kind in ("event", "object"):
            typed[kind] = []
            for typ, suffix in db.execute(f"SELECT ocel_type, ocel_type_map FROM {kind}_map_type").fetchall():
                table = f"{kind}_{suffix}"
                if table not in tables:
                    check.problem(f"{kind} type {typ!r} has no table {table}")
                    continue
                cols = [str(r[1]) for r in db.execute(f"PRAGMA table_info({_quote(table)})")]
                check.declare(kind, str(typ), [(c, None) for c in cols if c not in _META_COLUMNS])
                typed[kind].append((str(typ), table))
        # An event's time is in its type's table: one there is missing, the time is NULL.
        for typ, table in typed["event"]:
            _rows(
                db,
                f"SELECT e.ocel_id, e.ocel_type, t.ocel_time FROM event e LEFT JOIN {_quote(table)} t "
                "USING (ocel_id) WHERE e.ocel_type = ?",
                check.event,
                (typ,),
            )
        _rows(
            db,
            "SELECT ocel_id, ocel_type, NULL FROM event "
            "WHERE ocel_type NOT IN (SELECT ocel_type FROM event_map_type)",
            check.event,
        )
        _rows(db, "SELECT ocel_id, ocel_type FROM object", check.obj)
        _rows(db, "SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object", check.e2o)
        _rows(db, "SELECT ocel_source_id, ocel_target_id, ocel_qualifier FROM object_object", check.o2o)
        broken = db.execute("PRAGMA foreign_key_check").fetchmany(3)
        for table, rowid, parent, _fk in broken:
            check.problem(f"{table} row {rowid} refers to a missing row of {parent}")
    except sqlite3.Error as exc:
        check.problem(f"not an OCEL 2.0 SQLite database: {exc}")
    finally:
        db.close()
