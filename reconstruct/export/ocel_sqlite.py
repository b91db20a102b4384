"""OCEL 2.0 as SQLite: the standard's relational schema, with its keys.

``event`` and ``object`` (id, type), the type maps, one ``event_<type>`` /
``object_<type>`` table of attributes per type, ``event_object`` and
``object_object`` (the relations with their qualifiers). Primary and foreign
keys as the standard's relational constraints ask (pm4py's own SQLite writer
leaves them out). Rows are copied from DuckDB in batches.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from choreo.core.timefmt import sql_time
from choreo.reconstruct.export.ocel_model import (
    EVENT_ATTRIBUTES,
    EVENT_ID,
    IDENTIFIER_ATTRIBUTES,
    QUALIFIER_BELONGS,
    QUALIFIER_INSTANCE,
    SAGA_ATTRIBUTES,
    SAGA_PREFIX,
    Attribute,
    OcelModel,
    OcelTypes,
)

_BATCH = 10_000
STATIC_TIME_SQLITE = "1970-01-01 00:00:00"
_TIME = sql_time("adj_ts_ms", "%Y-%m-%d %H:%M:%S.%g")
_SQL_TYPES = {"string": "TEXT", "integer": "INTEGER"}
# Per-type table names that would collide with the standard's own tables.
_RESERVED = {"map_type", "object", "event"}

_SCHEMA = (
    "CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL)",
    "CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL)",
    "CREATE TABLE event (ocel_id TEXT PRIMARY KEY, "
    "ocel_type TEXT NOT NULL REFERENCES event_map_type (ocel_type))",
    "CREATE TABLE object (ocel_id TEXT PRIMARY KEY, "
    "ocel_type TEXT NOT NULL REFERENCES object_map_type (ocel_type))",
    "CREATE TABLE event_object (ocel_event_id TEXT NOT NULL REFERENCES event (ocel_id), "
    "ocel_object_id TEXT NOT NULL REFERENCES object (ocel_id), ocel_qualifier TEXT NOT NULL, "
    "PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier))",
    "CREATE TABLE object_object (ocel_source_id TEXT NOT NULL REFERENCES object (ocel_id), "
    "ocel_target_id TEXT NOT NULL REFERENCES object (ocel_id), ocel_qualifier TEXT NOT NULL, "
    "PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier))",
)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_maps(types: Iterable[str]) -> dict[str, str]:
    """Type -> the suffix of its table: letters, digits and _, distinct even
    case-insensitively (SQLite's table names are)."""
    out: dict[str, str] = {}
    used = set(_RESERVED)
    for name in types:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "type"
        candidate, n = base, 2
        while candidate.casefold() in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate.casefold())
        out[name] = candidate
    return out


def _columns(attrs: tuple[Attribute, ...]) -> str:
    return ", ".join(f"{quote(name)} {_SQL_TYPES[kind]}" for name, kind, _ in attrs)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, db: sqlite3.Connection, insert: str) -> None:
    cur = con.execute(sql)
    while rows := cur.fetchmany(_BATCH):
        db.executemany(insert, rows)


def _insert(table: str, n: int) -> str:
    return f"INSERT INTO {quote(table)} VALUES ({', '.join('?' * n)})"


class _TypedRows:
    """Rows of (id, type, time, attributes...) into the id table and the per-type tables."""

    def __init__(self, db: sqlite3.Connection, kind: str, maps: dict[str, str]) -> None:
        self.db, self.kind, self.maps = db, kind, maps

    def add(self, rows: Sequence[tuple[Any, ...]], changed_field: bool) -> None:
        self.db.executemany(_insert(self.kind, 2), [(r[0], r[1]) for r in rows])
        by_type: dict[str, list[tuple[Any, ...]]] = {}
        for r in rows:
            attrs = (r[0], r[2], None, *r[3:]) if changed_field else (r[0], *r[2:])
            by_type.setdefault(r[1], []).append(attrs)
        for typ, typed in by_type.items():
            table = f"{self.kind}_{self.maps[typ]}"
            self.db.executemany(_insert(table, len(typed[0])), typed)


def _create_types(
    db: sqlite3.Connection, kind: str, named: list[tuple[str, tuple[Attribute, ...]]]
) -> dict[str, str]:
    maps = table_maps(n for n, _ in named)
    db.executemany(_insert(f"{kind}_map_type", 2), list(maps.items()))
    for name, attrs in named:
        table = quote(f"{kind}_{maps[name]}")
        if kind == "event":
            db.execute(
                f"CREATE TABLE {table} (ocel_id TEXT PRIMARY KEY REFERENCES event (ocel_id), "
                f"ocel_time TIMESTAMP NOT NULL, {_columns(attrs)})"
            )
        else:
            # No key on ocel_id: an object's later attribute values are more rows.
            db.execute(
                f"CREATE TABLE {table} (ocel_id TEXT NOT NULL REFERENCES object (ocel_id), "
                f"ocel_time TIMESTAMP NOT NULL, ocel_changed_field TEXT, {_columns(attrs)})"
            )
    return maps


def _select(attrs: tuple[Attribute, ...]) -> str:
    return ", ".join(col for _, _, col in attrs)


def write_sqlite(model: OcelModel, types: OcelTypes, path: Path) -> None:
    """Write a new SQLite database at ``path`` (which must not exist)."""
    con = model.con
    db = sqlite3.connect(path)
    try:
        # A fresh file renamed into place only once validated: no journal needed.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        for ddl in _SCHEMA:
            db.execute(ddl)
        emaps = _create_types(db, "event", [(t, EVENT_ATTRIBUTES) for t in types.event_types])
        named = [(t, IDENTIFIER_ATTRIBUTES) for t in types.identifier_types]
        omaps = _create_types(db, "object", named + [(t, SAGA_ATTRIBUTES) for t in types.saga_types])
        events = _TypedRows(db, "event", emaps)
        cur = con.execute(
            f"SELECT eid, event_type, {_TIME}, {_select(EVENT_ATTRIBUTES)} FROM _ocel_events "
            "ORDER BY adj_ts_ms, instance_id, seq"
        )
        while rows := cur.fetchmany(_BATCH):
            events.add(rows, changed_field=False)
        objects = _TypedRows(db, "object", omaps)
        for sql in (
            f"SELECT oid, otype, '{STATIC_TIME_SQLITE}', {_select(IDENTIFIER_ATTRIBUTES)} FROM _ocel_objects "
            "ORDER BY rank",
            f"SELECT instance_id, '{SAGA_PREFIX}' || workflow, '{STATIC_TIME_SQLITE}', "
            f"{_select(SAGA_ATTRIBUTES)} FROM _ocel_inst ORDER BY start_ms, instance_id",
        ):
            cur = con.execute(sql)
            while rows := cur.fetchmany(_BATCH):
                objects.add(rows, changed_field=True)
        e2o = _insert("event_object", 3)
        _copy(con, f"SELECT eid, instance_id, '{QUALIFIER_INSTANCE}' FROM _ocel_events", db, e2o)
        _copy(con, f"SELECT {EVENT_ID}, oid, qualifier FROM _ocel_rel", db, e2o)
        _copy(
            con,
            f"SELECT source, target, '{QUALIFIER_BELONGS}' FROM _ocel_o2o",
            db,
            _insert("object_object", 3),
        )
        db.execute("COMMIT")
    finally:
        db.close()
