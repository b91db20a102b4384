"""OCEL 2.0 as JSON and as XML, one object or event per line, formatted by
DuckDB (escaping included) and streamed in batches: Python holds one batch,
the sorting is DuckDB's (spilled to disk when large), as for XES. The line
layout is also what ``ocel_read`` reads back to validate.
"""

from __future__ import annotations

from typing import IO

import duckdb
import orjson

from choreo.core.timefmt import sql_time
from choreo.reconstruct.export.ocel_model import (
    EVENT_ATTRIBUTES,
    IDENTIFIER_ATTRIBUTES,
    QUALIFIER_BELONGS,
    QUALIFIER_INSTANCE,
    SAGA_ATTRIBUTES,
    SAGA_PREFIX,
    STATIC_TIME,
    Attribute,
    OcelModel,
    OcelTypes,
)
from choreo.reconstruct.export.xml_sql import xml_escape, xml_text

_BATCH = 10_000
_TIME_JSON = sql_time("adj_ts_ms", "%Y-%m-%dT%H:%M:%S.%gZ")

# The relations each writer formats (the text column is added per format).
_OBJECTS = """
SELECT {text} FROM _ocel_objects o LEFT JOIN _ocel_o2o r ON r.source = o.oid ORDER BY o.rank
"""
_SAGAS = f"""
SELECT {{text}} FROM (SELECT *, '{SAGA_PREFIX}' || workflow AS otype FROM _ocel_inst)
ORDER BY start_ms, instance_id
"""
# One row per event (k = 0: its head and its instance relation) and one per
# further relation (k = 1) right after it, formatted after the sort: the
# sort (spilled to disk when large) holds raw columns, not text, and no
# per-event list is aggregated in memory.
_EVENTS = f"""
SELECT CASE WHEN k = 0 THEN {{head}} END, {{rel}} FROM (
    SELECT eid, event_type, adj_ts_ms, service, topic, partition, "offset", instance_id, status, seq,
           0 AS k, instance_id AS oid, '{QUALIFIER_INSTANCE}' AS qualifier
    FROM _ocel_events
    UNION ALL
    SELECT NULL, NULL, ev.adj_ts_ms, NULL, topic, partition, "offset", ev.instance_id, NULL, ev.seq,
           1, r.oid, r.qualifier
    FROM _ocel_ev ev JOIN _ocel_rel r USING (topic, partition, "offset")
    ORDER BY adj_ts_ms, instance_id, seq, k, oid
)
"""


def _stream(con: duckdb.DuckDBPyConnection, sql: str, out: IO[str], sep: str, first: bool) -> bool:
    """Write each row's text, ``sep`` between rows; returns whether nothing was written yet."""
    cur = con.execute(sql)
    while rows := cur.fetchmany(_BATCH):
        text = sep.join(r[0] for r in rows)
        out.write(text if first else sep + text)
        first = False
    return first


def _stream_events(
    con: duckdb.DuckDBPyConnection, head: str, rel: str, tail: str, out: IO[str], sep: str
) -> None:
    """Each event's head, its relations, ``tail``; ``sep`` between events."""
    cur = con.execute(_EVENTS.format(head=head, rel=rel))
    started = False
    while rows := cur.fetchmany(_BATCH):
        parts: list[str] = []
        for h, r in rows:
            if h is not None:
                if started:
                    parts.append(tail + sep)
                parts.append(h)
                started = True
            parts.append(r)
        out.write("".join(parts))
    if started:
        out.write(tail)


# -- JSON --------------------------------------------------------------------


def _j(sql: str) -> str:
    """A JSON value from SQL: strings quoted and escaped by DuckDB."""
    return f"to_json({sql})::VARCHAR"


def _json_attrs(attrs: tuple[Attribute, ...], timed: bool) -> str:
    parts = []
    for i, (name, kind, col) in enumerate(attrs):
        value = _j(col) if kind == "string" else f"({col})::VARCHAR"
        time = f',"time":"{STATIC_TIME}"' if timed else ""
        lead = "" if i == 0 else ","
        head = f'{lead}{{"name":"{name}"{time},"value":'
        parts.append(f"CASE WHEN {col} IS NULL THEN '' ELSE '{head}' || {value} || '}}' END")
    # The first attribute is never NULL: the separators stay right.
    return " || ".join(parts)


def _json_type(name: str, attrs: tuple[Attribute, ...]) -> str:
    return orjson.dumps({"name": name, "attributes": [{"name": a, "type": t} for a, t, _ in attrs]}).decode()


def write_json(model: OcelModel, types: OcelTypes, out: IO[str]) -> None:
    con = model.con
    out.write('{"objectTypes":[\n')
    decl = [_json_type(t, IDENTIFIER_ATTRIBUTES) for t in types.identifier_types]
    decl += [_json_type(t, SAGA_ATTRIBUTES) for t in types.saga_types]
    out.write(",\n".join(decl))
    out.write('\n],"eventTypes":[\n')
    out.write(",\n".join(_json_type(t, EVENT_ATTRIBUTES) for t in types.event_types))
    out.write('\n],"objects":[\n')
    obj = (
        f"""'{{"id":' || {_j("o.oid")} || ',"type":' || {_j("o.otype")} || ',"attributes":[' || """
        f"{_json_attrs(IDENTIFIER_ATTRIBUTES, True)} || ']' || "
        f"""CASE WHEN r.target IS NULL THEN '' ELSE ',"relationships":[{{"objectId":' || {_j("r.target")} """
        f"""|| ',"qualifier":"{QUALIFIER_BELONGS}"}}]' END || '}}'"""
    )
    first = _stream(con, _OBJECTS.format(text=obj), out, ",\n", True)
    saga = (
        f"""'{{"id":' || {_j("instance_id")} || ',"type":' || {_j("otype")} || ',"attributes":[' || """
        f"{_json_attrs(SAGA_ATTRIBUTES, True)} || ']}}'"
    )
    _stream(con, _SAGAS.format(text=saga), out, ",\n", first)
    out.write('\n],"events":[\n')
    head = (
        f"""'{{"id":' || {_j("eid")} || ',"type":' || {_j("event_type")} || ',"time":"' || {_TIME_JSON} """
        f"""|| '","attributes":[' || {_json_attrs(EVENT_ATTRIBUTES, False)} || '],"relationships":['"""
    )
    rel = (
        f"""CASE WHEN k = 0 THEN '' ELSE ',' END || '{{"objectId":' || {_j("oid")} """
        f"""|| ',"qualifier":' || {_j("qualifier")} || '}}'"""
    )
    _stream_events(con, head, rel, "]}", out, ",\n")
    out.write("\n]}\n")


# -- XML ---------------------------------------------------------------------


def _xml_attrs(attrs: tuple[Attribute, ...], timed: bool) -> str:
    time = f' time="{STATIC_TIME}"' if timed else ""
    parts = [
        f"""CASE WHEN {col} IS NULL THEN '' ELSE '<attribute name="{name}"{time}>' || """
        f"{xml_text(f'({col})::VARCHAR')} || '</attribute>' END"
        for name, _kind, col in attrs
    ]
    return " || ".join(parts)


def _xml_type(tag: str, name: str, attrs: tuple[Attribute, ...]) -> str:
    inner = "".join(f'<attribute name="{a}" type="{t}"/>' for a, t, _ in attrs)
    return f'<{tag} name="{xml_escape(name)}"><attributes>{inner}</attributes></{tag}>'


def _declarations(tag: str, named: list[tuple[str, tuple[Attribute, ...]]]) -> str:
    # Names XML cannot carry exactly may meet after escaping: declared once.
    lines = dict.fromkeys(_xml_type(tag, n, a) for n, a in named)
    return "".join(line + "\n" for line in lines)


def write_xml(model: OcelModel, types: OcelTypes, out: IO[str]) -> None:
    con = model.con
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<log>\n<object-types>\n')
    named = [(t, IDENTIFIER_ATTRIBUTES) for t in types.identifier_types]
    named += [(t, SAGA_ATTRIBUTES) for t in types.saga_types]
    out.write(_declarations("object-type", named))
    out.write("</object-types>\n<event-types>\n")
    out.write(_declarations("event-type", [(t, EVENT_ATTRIBUTES) for t in types.event_types]))
    out.write("</event-types>\n<objects>\n")
    obj = (
        f"""'<object id="' || {xml_text("o.oid")} || '" type="' || {xml_text("o.otype")} """
        f"""|| '"><attributes>' """
        f"|| {_xml_attrs(IDENTIFIER_ATTRIBUTES, True)} || '</attributes>' || "
        f"""CASE WHEN r.target IS NULL THEN '' ELSE '<objects><relationship object-id="' || """
        f"""{xml_text("r.target")} || '" qualifier="{QUALIFIER_BELONGS}"/></objects>' END || '</object>\n'"""
    )
    _stream(con, _OBJECTS.format(text=obj), out, "", True)
    saga = (
        f"""'<object id="' || {xml_text("instance_id")} || '" type="' || {xml_text("otype")} """
        f"""|| '"><attributes>' || {_xml_attrs(SAGA_ATTRIBUTES, True)} || '</attributes></object>\n'"""
    )
    _stream(con, _SAGAS.format(text=saga), out, "", True)
    out.write("</objects>\n<events>\n")
    head = (
        f"""'<event id="' || {xml_text("eid")} || '" type="' || {xml_text("event_type")} || '" time="' """
        f"""|| {_TIME_JSON} || '"><attributes>' || {_xml_attrs(EVENT_ATTRIBUTES, False)} """
        """|| '</attributes><objects>'"""
    )
    rel = (
        f"""'<relationship object-id="' || {xml_text("oid")} || '" qualifier="' """
        f"""|| {xml_text("qualifier")} || '"/>'"""
    )
    _stream_events(con, head, rel, "</objects></event>\n", out, "")
    out.write("</events>\n</log>\n")
