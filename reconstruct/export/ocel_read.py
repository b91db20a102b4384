"""Read a written OCEL 2.0 log back into an ``OcelCheck``, streaming.

- XML: any OCEL 2.0 XML, parsed by expat (which also proves it well-formed).
- JSON: the line layout ``ocel_text`` writes (one type, object or event per
  line between fixed section lines); each line is parsed as JSON and the
  framing and commas are checked, so a file that passes is valid JSON.
- SQLite: the standard's tables, plus SQLite's own foreign key check.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from xml.parsers import expat

import orjson

from choreo.reconstruct.export.ocel_check import OcelCheck

_JSON_SECTIONS = (b'{"objectTypes":[', b'],"eventTypes":[', b'],"objects":[', b'],"events":[', b"]}")
_KINDS = ("object type", "event type", "object", "event", "log")


class _Malformed(Exception):
    pass


def _declaration(section: int, doc: dict[str, Any], check: OcelCheck) -> None:
    attrs = [(a["name"], a["type"]) for a in doc.get("attributes") or ()]
    check.declare("object" if section == 0 else "event", doc["name"], attrs)


def _element(section: int, doc: dict[str, Any], check: OcelCheck) -> None:
    """An object (section 2) or an event (3). Run per line of a large file: no
    more work than reading the fields (a value of the wrong JSON type fails
    here or when the batch is stored)."""
    ident, typ = doc["id"], doc["type"]
    attrs = doc.get("attributes")
    names = tuple([a["name"] for a in attrs]) if attrs else ()
    rels = doc.get("relationships")
    if section == 2:
        check.obj(ident, typ, names)
        if rels:
            check.extend("o2o", [(ident, r["objectId"], r.get("qualifier")) for r in rels])
    else:
        check.event(ident, typ, doc["time"], names)
        if rels:
            check.extend("e2o", [(ident, r["objectId"], r.get("qualifier")) for r in rels])


def read_json(path: Path, check: OcelCheck) -> None:
    section = -1
    comma = False  # the previous element line ended with a comma
    elements = 0  # in the current section
    loads = orjson.loads
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip(b"\r\n")
            try:
                if line[:1] != b"{" or section < 0:
                    if section + 1 < len(_JSON_SECTIONS) and line == _JSON_SECTIONS[section + 1]:
                        if comma:
                            raise _Malformed("a comma before the end of a list")
                        section, elements = section + 1, 0
                        continue
                    if line.strip():
                        raise _Malformed("not OCEL 2.0 JSON as choreo writes it")
                    continue
                if section >= len(_JSON_SECTIONS) - 1:
                    raise _Malformed("text after the end of the log")
                if elements and not comma:
                    raise _Malformed("a missing comma")
                comma = line.endswith(b",")
                doc = loads(line[:-1] if comma else line)
                if type(doc) is not dict:
                    raise _Malformed("not a JSON object")
                if section >= 2:
                    _element(section, doc, check)
                else:
                    _declaration(section, doc, check)
                elements += 1
            except (_Malformed, orjson.JSONDecodeError) as exc:
                check.problem(f"line {n}: {exc}")
                return
            except (KeyError, TypeError, AttributeError) as exc:
                check.problem(f"line {n}: not an OCEL 2.0 {_KINDS[section]} ({type(exc).__name__}: {exc})")
                return
    if section != len(_JSON_SECTIONS) - 1:
        check.problem("the file ends early (truncated?)")


def read_xml(path: Path, check: OcelCheck) -> None:
    depth = 0
    section = ""
    declaring: list[Any] = []  # [kind, name, [(attr, type)]]
    owner: list[Any] = []  # [kind, id, type, [attr names], time]

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, section
        depth += 1
        if depth == 5:
            if tag == "attribute":
                if owner:
                    owner[3].append(attrs["name"])
                elif declaring:
                    declaring[2].append((attrs["name"], attrs.get("type")))
            elif tag == "relationship" and owner:
                table = "o2o" if owner[0] == "object" else "e2o"
                check.add(table, (owner[1], attrs["object-id"], attrs.get("qualifier")))
        elif depth == 3:
            if section == "objects" and tag == "object":
                owner[:] = ["object", attrs["id"], attrs["type"], [], None]
            elif section == "events" and tag == "event":
                owner[:] = ["event", attrs["id"], attrs["type"], [], attrs["time"]]
            elif tag in ("object-type", "event-type") and section == tag + "s":
                declaring[:] = [tag.split("-")[0], attrs["name"], []]
            else:
                raise _Malformed(f"unexpected <{tag}> in <{section}>")
        elif depth == 2:
            section = tag
        elif depth == 1 and tag != "log":
            raise _Malformed(f"the root element is <{tag}>, not <log>")

    def end(tag: str) -> None:
        nonlocal depth
        if depth == 3:
            if owner:
                if owner[0] == "object":
                    check.obj(owner[1], owner[2], tuple(owner[3]))
                else:
                    check.event(owner[1], owner[2], owner[4], tuple(owner[3]))
                owner.clear()
            elif declaring:
                check.declare(declaring[0], declaring[1], declaring[2])
                declaring.clear()
        depth -= 1

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with path.open("rb") as f:
            parser.ParseFile(f)
    except expat.ExpatError as exc:
        check.problem(f"not well-formed XML: {exc}")
    except KeyError as exc:
        check.problem(f"line {parser.CurrentLineNumber}: an element without {exc.args[0]!r}")
    except _Malformed as exc:
        check.problem(f"line {parser.CurrentLineNumber}: {exc}")


_STANDARD_TABLES = ("event", "object", "event_object", "object_object", "event_map_type", "object_map_type")
_META_COLUMNS = {"ocel_id", "ocel_time", "ocel_changed_field"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy(
    db: sqlite3.Connection, sql: str, check: OcelCheck, table: str, params: tuple[Any, ...] = ()
) -> None:
    """Rows of a query into one of the check's tables (values that are not
    text are reported when the batch is stored)."""
    cur = db.execute(sql, params)
    while rows := cur.fetchmany(10_000):
        check.extend(table, rows)


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
            _copy(
                db,
                f"SELECT e.ocel_id, e.ocel_type, t.ocel_time FROM event e LEFT JOIN {_quote(table)} t "
                "USING (ocel_id) WHERE e.ocel_type = ?",
                check,
                "ev",
                (typ,),
            )
        for table, sql in (
            (
                "ev",
                "SELECT ocel_id, ocel_type, NULL FROM event "
                "WHERE ocel_type NOT IN (SELECT ocel_type FROM event_map_type)",
            ),
            ("obj", "SELECT ocel_id, ocel_type FROM object"),
            ("e2o", "SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object"),
            ("o2o", "SELECT ocel_source_id, ocel_target_id, ocel_qualifier FROM object_object"),
        ):
            _copy(db, sql, check, table)
        broken = db.execute("PRAGMA foreign_key_check").fetchmany(3)
        for table, rowid, parent, _fk in broken:
            check.problem(f"{table} row {rowid} refers to a missing row of {parent}")
    except sqlite3.Error as exc:
        check.problem(f"not an OCEL 2.0 SQLite database: {exc}")
    finally:
        db.close()
