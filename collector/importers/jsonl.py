"""choreo's own JSONL: one raw record per line, lossless.

Written by ``choreo export events``, read back by ``choreo import``. Each
line is an object with ``"choreo": 1`` (the format version, also how the
format is recognised), the Kafka coordinates, ``ts_ms``/``ts_type`` as the
store has them, and ``key``, ``payload`` and header values as *byte
fields*: null, a JSON string when the bytes are UTF-8 text, or
``{"b64": "..."}`` (standard base64) when they are not. Text that happens
to be JSON stays a string, so the bytes come back exactly.

    {"choreo":1,"topic":"orders","partition":0,"offset":7,"ts_ms":1714564800123,
     "ts_type":1,"key":"o-1","headers":[["traceparent","00-..."]],"payload":"{\\"type\\":...}"}
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Sequence

import orjson

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

FORMAT_KEY = "choreo"
FORMAT_VERSION = 1


def looks_like_choreo(obj: object) -> bool:
    return isinstance(obj, dict) and FORMAT_KEY in obj


def _field(value: bytes | None) -> object:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode("ascii")}


def encode_record(
    topic: str,
    partition: int,
    offset: int,
    ts_ms: int | None,
    ts_type: int,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None,
    payload: bytes | None,
) -> bytes:
    """One line (with its newline) for a stored record."""
    return (
        orjson.dumps(
            {
                FORMAT_KEY: FORMAT_VERSION,
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "ts_ms": ts_ms,
                "ts_type": ts_type,
                "key": _field(key),
                "headers": [[n, _field(v)] for n, v in headers or ()],
                "payload": _field(payload),
            }
        )
        + b"\n"
    )


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
