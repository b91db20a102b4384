"""choreo's own JSONL record format: one raw record per line, lossless.

Written by ``choreo export events``, read back by ``choreo import``. Each
line is an object with ``"choreo": 1`` (the format version, also how the
format is recognised), the Kafka coordinates, ``ts_ms``/``ts_type`` as the
store has them, and ``key``, ``payload`` and header values as *byte
fields*: null, a JSON string when the bytes are UTF-8 text, or
``{"b64": "..."}`` (standard base64) when they are not. Text that happens
to be JSON stays a string, so the bytes come back exactly.

    {"choreo":1,"topic":"orders","partition":0,"offset":7,"ts_ms":1714564800123,
     "ts_type":1,"key":"o-1","headers":[["traceparent","00-..."]],"payload":"{\\"type\\":...}"}

Defined here once: the exporter writes it, the importer reads it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import orjson

FORMAT_KEY = "choreo"
FORMAT_VERSION = 1


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
