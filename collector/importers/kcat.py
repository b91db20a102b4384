"""``kcat -C -J`` lines: one JSON envelope per record.

Fields: topic, partition, offset, tstype + ts (absent when the broker gave
no timestamp), broker, key and payload (string, null, or a JSON value when
kcat deserialised Avro), key_error / payload_error when that failed, and
headers in every shape kcat writes: a flat array of alternating names and
values (kcat 1.x), an object mapping a name to a list of values (newer
kcat), or a name to a single string (what ``kcat -h`` documents).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from choreo.collector.extract import Header
from choreo.collector.importers.record import (
    INT32_MAX,
    TS_CREATE,
    TS_LOG_APPEND,
    TS_UNKNOWN,
    BadLine,
    Record,
    clean_text,
    optional_time,
    parse_json_line,
    require_int,
    require_topic,
    text_to_bytes,
)

_TS_TYPES = {"create": TS_CREATE, "logappend": TS_LOG_APPEND, "unknown": TS_UNKNOWN}


def looks_like_kcat(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("topic"), str)
        and isinstance(obj.get("partition"), int)
        and isinstance(obj.get("offset"), int)
        and ("payload" in obj or "key" in obj)
    )


def _value_bytes(value: object, what: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return text_to_bytes(value)
    if isinstance(value, dict | list | int | float | bool):
        # kcat -s avro writes the decoded value as JSON itself; keep that JSON.
        return orjson.dumps(value)
    raise BadLine(f"{what} is not a string")


def _header_value(value: object, name: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return text_to_bytes(value)
    raise BadLine(f"header {name!r} value is not a string or null")


def decode_headers(raw: object) -> list[Header] | None:
    if raw is None:
        return None
    out: list[Header] = []
    if isinstance(raw, list):
        if len(raw) % 2:
            raise BadLine("headers array has an odd number of items")
        for i in range(0, len(raw), 2):
            name = raw[i]
            if not isinstance(name, str):
                raise BadLine("header name is not a string")
            out.append((clean_text(name), _header_value(raw[i + 1], name)))
    elif isinstance(raw, dict):
        for name, values in raw.items():
            clean = clean_text(name)
            if isinstance(values, list):
                out.extend((clean, _header_value(v, name)) for v in values)
            else:
                out.append((clean, _header_value(values, name)))
    else:
        raise BadLine("headers is neither an array nor an object")
    return out or None


def decode_kcat_obj(obj: Any) -> Record:
    if not isinstance(obj, dict):
        raise BadLine("not a JSON object")
    topic = require_topic(obj)
    partition = require_int(obj, "partition", INT32_MAX)
    offset = require_int(obj, "offset")
    ts = optional_time(obj, "ts")
    tstype = obj.get("tstype")
    if tstype is None:
        ts_type = TS_UNKNOWN
    else:
        found = _TS_TYPES.get(tstype) if isinstance(tstype, str) else None
        if found is None:
            raise BadLine(f"tstype {tstype!r} is not create, logappend or unknown")
        ts_type = found
    key = _value_bytes(obj.get("key"), "key")
    payload = _value_bytes(obj.get("payload"), "payload")
    headers = decode_headers(obj.get("headers"))
    return (topic, partition, offset, ts, ts_type, key, headers, payload)


class KcatDecoder:
    """Decodes kcat -J lines; counts records whose key or payload kcat failed to deserialise."""

    name = "kcat"

    def __init__(self) -> None:
        self.notes: Counter[str] = Counter()

    def decode(self, line: bytes, lineno: int) -> Record:
        obj = parse_json_line(line)
        record = decode_kcat_obj(obj)
        if isinstance(obj, dict):
            # kcat stored null in place of what it could not deserialise.
            if "key_error" in obj:
                self.notes["key_error (key stored as null)"] += 1
            if "payload_error" in obj:
                self.notes["payload_error (payload stored as null)"] += 1
        return record
