"""Reading choreo's own JSONL (``choreo.core.jsonl_format``) back into records."""

from __future__ import annotations

import base64
import binascii
from collections import Counter

from choreo.collector.extract import Header
from choreo.collector.importers.record import (
    INT32_MAX,
    BadLine,
    Record,
    clean_text,
    optional_time,
    parse_json_line,
    require_int,
    require_topic,
    text_to_bytes,
)
from choreo.core.jsonl_format import FORMAT_KEY, FORMAT_VERSION


def looks_like_choreo(obj: object) -> bool:
    return isinstance(obj, dict) and FORMAT_KEY in obj


def _bytes_of(value: object, what: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return text_to_bytes(value)
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadLine(f"{what}: invalid base64") from None
    raise BadLine(f'{what} is not null, a string or {{"b64": ...}}')


def _headers_of(value: object) -> list[Header] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadLine("headers is not an array")
    out: list[Header] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise BadLine("a header is not a [name, value] pair")
        out.append((clean_text(item[0]), _bytes_of(item[1], f"header {item[0]!r}")))
    return out or None


class ChoreoDecoder:
    name = "choreo"

    def __init__(self) -> None:
        self.notes: Counter[str] = Counter()

    def decode(self, line: bytes, lineno: int) -> Record:
        obj = parse_json_line(line)
        if not isinstance(obj, dict):
            raise BadLine("not a JSON object")
        version = obj.get(FORMAT_KEY)
        if version != FORMAT_VERSION:
            raise BadLine(f"choreo format version {version!r} is not {FORMAT_VERSION}")
        topic = require_topic(obj)
        partition = require_int(obj, "partition", INT32_MAX)
        offset = require_int(obj, "offset")
        ts = optional_time(obj, "ts_ms")
        ts_type = obj.get("ts_type", 0)
        if type(ts_type) is not int or ts_type not in (0, 1, 2):
            raise BadLine("ts_type is not 0, 1 or 2")
        return (
            topic,
            partition,
            offset,
            ts,
            ts_type,
            _bytes_of(obj.get("key"), "key"),
            _headers_of(obj.get("headers")),
            _bytes_of(obj.get("payload"), "payload"),
        )
