"""Plain JSON lines: one event object per line, without Kafka coordinates
(for example from a log pipeline).

Coordinates are synthesised so that re-importing the same file is
idempotent: topic = the configured name or the file's name without its
extensions, partition 0, offset = the line number. The payload is the line
itself; the broker timestamp is taken from a configurable field (a dotted
path), else from the usual time fields.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from choreo.collector.extract import parse_time_ms
from choreo.collector.importers.record import TS_UNKNOWN, BadLine, Record, parse_json_line

DEFAULT_TIME_FIELDS = (
    "time",
    "timestamp",
    "@timestamp",
    "occurredAt",
    "occurred_at",
    "eventTime",
    "event_time",
)


def _at(doc: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


class PlainDecoder:
    name = "plain"

    def __init__(self, topic: str, time_field: str | None = None) -> None:
        self.topic = topic
        fields = (time_field,) if time_field else DEFAULT_TIME_FIELDS
        self._paths = [tuple(f.split(".")) for f in fields]
        self._time_field = time_field
        self.notes: Counter[str] = Counter()

    def decode(self, line: bytes, lineno: int) -> Record:
        doc = parse_json_line(line)
        if not isinstance(doc, dict):
            raise BadLine("not a JSON object")
        ts: int | None = None
        for path in self._paths:
            value = _at(doc, path)
            if value is not None:
                ts = parse_time_ms(value)
                if ts is None:
                    self.notes["time field not a time (ts unknown)"] += 1
                break
        else:
            what = f"no {self._time_field!r} field" if self._time_field else "no time field"
            self.notes[f"{what} (ts unknown)"] += 1
        payload = line.rstrip(b"\r\n")
        return (self.topic, 0, lineno, ts, TS_UNKNOWN, None, None, payload)
