"""The event log in IEEE XES (1849-2016) for process-mining tools.

A case (trace) is an instance, an event is a distinct event of it (a
redelivered duplicate is counted once), in the instance's causal order:
concept:name is the event type, time:timestamp the skew-adjusted time.
lifecycle:transition and org:resource are exported as recorded: a payload
field ``lifecycle:transition`` or ``lifecycle``, and ``org:resource``,
``resource`` or ``user`` (a scalar; a user object is the subject, not who
acted). Without them a Kafka record is an atomic, completed fact
("complete") emitted by its service (org:resource = the service; the
``service`` attribute always names it). Written as a stream: memory does not
grow with the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from choreo.core.errors import ExportError
from choreo.core.event_log import ensure_log_views
from choreo.core.store import Store
from choreo.core.timefmt import sql_time
from choreo.reconstruct.export.selection import InstanceFilter
from choreo.reconstruct.export.xml_sql import xml_text as _esc
from choreo.reconstruct.query.lifecycle import LIFECYCLE_PATHS

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


@dataclass
class XesStats:
    cases: int = 0
    events: int = 0


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
    '      <string key="lifecycle:transition" value="{}"/>\n'
    '      <string key="service" value="{}"/>\n'
    '      <string key="topic" value="{}"/>\n'
    '      <int key="partition" value="{}"/>\n'
    '      <int key="offset" value="{}"/>\n'
)
# The payload fields read as recorded, in order of preference (JSON paths;
# the transition as the engine reads it to order an activity's start and complete).
_LIFECYCLE = LIFECYCLE_PATHS
_RESOURCE = ('$."org:resource"', "$.resource", "$.user")
_PATHS = "[" + ", ".join(f"'{p}'" for p in _LIFECYCLE + _RESOURCE) + "]"
_SCALARS = "('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE')"


def _recorded(first: int, count: int) -> str:
    """SQL: the first of ``count`` extracted fields (from ``first``) that is a non-empty scalar."""
    picks = [
        f"CASE WHEN json_type(rec[{i}]) IN {_SCALARS} THEN nullif(rec[{i}] ->> '$', '') END"
        for i in range(first, first + count)
    ]
    return f"coalesce({', '.join(picks)})"


# One row per event: the case's opening (used when the case changes) and the
# event's XML, both formatted by DuckDB.
_ROWS = f"""
SELECT instance_id,
       format('{_TRACE}', {_esc("instance_id")}, {_esc("workflow")}, {_esc("status")},
              {_esc("label")}) AS head,
       format('{_EVENT}', {_esc("event_type")},
              {sql_time("adj_ts_ms", "%Y-%m-%dT%H:%M:%S.%g+00:00")},
              {_esc("resource")}, {_esc("lifecycle")}, {_esc("service")}, {_esc("topic")}, partition,
              "offset")
         || CASE WHEN event_id IS NULL THEN ''
                 ELSE format('      <string key="event_id" value="{{}}"/>\n', {_esc("event_id")}) END
         || CASE WHEN skew_ms = 0 THEN ''
                 ELSE format('      <int key="skew_ms" value="{{}}"/>\n', skew_ms) END
         || '    </event>\n' AS body
FROM (
    SELECT *,
           coalesce({_recorded(1, len(_LIFECYCLE))}, 'complete') AS lifecycle,
           coalesce({_recorded(1 + len(_LIFECYCLE), len(_RESOURCE))}, service) AS resource
    FROM (
        SELECT i.instance_id, i.workflow, i.status, i.label, ie.seq, ie.adj_ts_ms, ie.skew_ms,
               e.event_type, e.service, e.topic, e.partition, e."offset", e.event_id,
               -- One parse of the payload for all the fields.
               CASE WHEN e.payload_kind = 'json'
                    THEN json_extract(decode(e.payload), {_PATHS}) END AS rec
        FROM instances i
        JOIN instance_events ie USING (instance_id)
        JOIN log_events e USING (topic, partition, "offset")
        WHERE ie.duplicate_of_seq IS NULL AND {{cond}}
    )
)
ORDER BY instance_id, seq
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
