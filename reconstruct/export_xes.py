"""The event log in IEEE XES (1849-2016) for process-mining tools.

A case (trace) is an instance, an event is a distinct event of it (a
redelivered duplicate is counted once), in the instance's causal order:
concept:name is the event type, time:timestamp the skew-adjusted time,
org:resource the emitting service. A Kafka record is an atomic, completed
fact, so lifecycle:transition is "complete". Written as a stream: memory does
not grow with the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from choreo.errors import ExportError
from choreo.store import Store
from reconstruct.export_filter import InstanceFilter
from reconstruct.log import ensure_log_views

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
# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class XesStats:
    cases: int = 0
    events: int = 0


def _attr(text: str) -> str:
    text = _INVALID_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def _date(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+00:00"


def _s(key: str, value: str) -> str:
    return f'<string key="{key}" value="{_attr(value)}"/>'


def write_xes(store: Store, out: IO[str], flt: InstanceFilter | None = None) -> XesStats:
    flt = flt or InstanceFilter()
    flt.check(store)
    cond, params = flt.sql("i")
    ensure_log_views(store)
    # Streamed from the store's own connection: the log_* views are temporary
    # and visible only there.
    cur = store.con.execute(
        "SELECT i.instance_id, i.workflow, i.status, i.label, ie.adj_ts_ms, ie.skew_ms, "
        'e.event_type, e.service, e.topic, e.partition, e."offset", e.event_id '
        "FROM instances i JOIN instance_events ie USING (instance_id) "
        'JOIN log_events e USING (topic, partition, "offset") '
        f"WHERE ie.duplicate_of_seq IS NULL AND {cond} ORDER BY i.instance_id, ie.seq",
        params,
    )
    stats = XesStats()
    out.write(_HEADER)
    current: str | None = None
    while rows := cur.fetchmany(10_000):
        parts: list[str] = []
        for iid, wf, status, lbl, ts, skew, etype, svc, topic, part, off, eid in rows:
            if iid != current:
                if current is not None:
                    parts.append("  </trace>\n")
                current = iid
                stats.cases += 1
                parts.append(
                    f"  <trace>\n    {_s('concept:name', iid)}\n    {_s('workflow', wf)}\n"
                    f"    {_s('status', status)}\n    {_s('label', lbl)}\n"
                )
            stats.events += 1
            parts.append(
                f"    <event>\n      {_s('concept:name', etype)}\n"
                f'      <date key="time:timestamp" value="{_date(ts)}"/>\n'
                f"      {_s('org:resource', svc)}\n"
                '      <string key="lifecycle:transition" value="complete"/>\n'
                f"      {_s('topic', topic)}\n"
                f'      <int key="partition" value="{part}"/>\n'
                f'      <int key="offset" value="{off}"/>\n'
            )
            if eid is not None:
                parts.append(f"      {_s('event_id', eid)}\n")
            if skew:
                parts.append(f'      <int key="skew_ms" value="{skew}"/>\n')
            parts.append("    </event>\n")
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
