"""The event log in IEEE XES (1849-2016) for process-mining tools.

A case (trace) is an instance, an event is a distinct event of it (a
redelivered duplicate is counted once), in the instance's causal order:
concept:name is the event type, time:timestamp the skew-adjusted time,
org:resource the emitting service. A Kafka record is an atomic, completed
fact, so lifecycle:transition is "complete". Written as a stream: memory does
not grow with the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from choreo.core.errors import ExportError
from choreo.core.event_log import ensure_log_views
from choreo.core.store import Store
from choreo.reconstruct.export.selection import InstanceFilter

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Resource" keys="org:resource"/>
  <string key="concept:name" value="choreo event log"/>
"""
# Characters XML 1.0 cannot carry, even escaped (an RE2 class for DuckDB).
_INVALID_XML = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_NEEDS_ESCAPE = r"[&<>\"\x00-\x1F\x{FFFE}\x{FFFF}]"
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"))
_CONTROL_ESCAPES = ((10, "&#10;"), (13, "&#13;"), (9, "&#9;"))


@dataclass
class XesStats:
    cases: int = 0
    events: int = 0


def _esc(column: str) -> str:
    """SQL for ``column`` as XML attribute text: escaping is done by DuckDB,
    vectorised, not per value in Python."""
    expr = f"regexp_replace({column}, '{_INVALID_XML}', '\ufffd', 'g')"
    for char, entity in _ESCAPES:
        expr = f"replace({expr}, '{char}', '{entity}')"
    for code, entity in _CONTROL_ESCAPES:
        expr = f"replace({expr}, chr({code}), '{entity}')"
    # Most values need no escaping: one match instead of eight replaces.
    return f"CASE WHEN regexp_matches({column}, '{_NEEDS_ESCAPE}') THEN {expr} ELSE {column} END"


_TRACE = (
    "  <trace>\n"
    '    <string key="concept:name" value="{}"/>\n'
    '    <string key="workflow" value="{}"/>\n'
    '    <string key="status" value="{}"/>\n'
    '    <string key="label" value="{}"/>\n'
)
_EVENT = (
    "    <event>\n"
    '      <string key="concept:name" value="{}"/>\n'
    '      <date key="time:timestamp" value="{}"/>\n'
    '      <string key="org:resource" value="{}"/>\n'
    '      <string key="lifecycle:transition" value="complete"/>\n'
    '      <string key="topic" value="{}"/>\n'
    '      <int key="partition" value="{}"/>\n'
    '      <int key="offset" value="{}"/>\n'
)
# One row per event: the case's opening (used when the case changes) and the
# event's XML, both formatted by DuckDB.
_ROWS = f"""
SELECT i.instance_id,
       format('{_TRACE}', {_esc("i.instance_id")}, {_esc("i.workflow")}, {_esc("i.status")},
              {_esc("i.label")}) AS head,
       format('{_EVENT}', {_esc("e.event_type")},
              strftime(make_timestamp(ie.adj_ts_ms * 1000), '%Y-%m-%dT%H:%M:%S.%g+00:00'),
              {_esc("e.service")}, {_esc("e.topic")}, e.partition, e."offset")
         || CASE WHEN e.event_id IS NULL THEN ''
                 ELSE format('      <string key="event_id" value="{{}}"/>\n', {_esc("e.event_id")}) END
         || CASE WHEN ie.skew_ms = 0 THEN ''
                 ELSE format('      <int key="skew_ms" value="{{}}"/>\n', ie.skew_ms) END
         || '    </event>\n' AS body
FROM instances i
JOIN instance_events ie USING (instance_id)
JOIN log_events e USING (topic, partition, "offset")
WHERE ie.duplicate_of_seq IS NULL AND {{cond}}
ORDER BY i.instance_id, ie.seq
"""


def write_xes(store: Store, out: IO[str], flt: InstanceFilter | None = None) -> XesStats:
    flt = flt or InstanceFilter()
    flt.check(store)
    cond, params = flt.sql("i")
    ensure_log_views(store)
    # Streamed from the store's own connection: the log_* views are temporary
    # and visible only there.
    cur = store.con.execute(_ROWS.replace("{cond}", cond), params)
    stats = XesStats()
    out.write(_HEADER)
    current: str | None = None
    while rows := cur.fetchmany(10_000):
        parts: list[str] = []
        for iid, head, body in rows:
            if iid != current:
                if current is not None:
                    parts.append("  </trace>\n")
                current = iid
                stats.cases += 1
                parts.append(head)
            parts.append(body)
        stats.events += len(rows)
        out.write("".join(parts))
    if current is not None:
        out.write("  </trace>\n")
    out.write("</log>\n")
    return stats


def export_xes(store: Store, path: Path, flt: InstanceFilter | None = None) -> XesStats:
    try:
        with path.open("w", encoding="utf-8") as f:
            return write_xes(store, f, flt)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
