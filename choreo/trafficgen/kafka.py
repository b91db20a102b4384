"""Kafka's side of the traffic: the default partitioner (murmur2 of the key,
as the Java client and librdkafka's ``murmur2_random`` do) and the dump
formats: ``kcat -C -J`` lines exactly as kcat writes them (raw bytes >= 0x80
unescaped, control bytes as ``\\u00XX``; headers as kcat 1.x's flat array or
the map-of-lists shape) and choreo's own JSONL."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from choreo.core.jsonl_format import encode_record

Header = tuple[str, bytes | None]
TS_CREATE = 1
TS_LOG_APPEND = 2
_TSTYPE = {TS_CREATE: b"create", TS_LOG_APPEND: b"logappend"}


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned 32-bit int."""
    m, length = 0x5BD1E995, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail, rest = length & ~3, length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_for(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(slots=True)
class KafkaRecord:
    topic: str
    partition: int
    offset: int
    ts: int
    ts_type: int
    broker: int
    key: bytes | None
    headers: list[Header]
    payload: bytes | None


_ESCAPES = {
    b'"': b'\\"',
    b"\\": b"\\\\",
    b"\b": b"\\b",
    b"\t": b"\\t",
    b"\n": b"\\n",
    b"\f": b"\\f",
    b"\r": b"\\r",
}
_NEEDS_ESCAPE = re.compile(rb'[\x00-\x1f"\\]')


def _escape_one(m: re.Match[bytes]) -> bytes:
    c = m.group()
    return _ESCAPES.get(c) or b"\\u00%02X" % c[0]


def json_string(raw: bytes | str | None) -> bytes:
    """A JSON string as yajl (kcat's generator) writes it, or null."""
    if raw is None:
        return b"null"
    b = raw.encode() if isinstance(raw, str) else raw
    return b'"' + _NEEDS_ESCAPE.sub(_escape_one, b) + b'"'


def _headers_array(headers: Sequence[Header]) -> bytes:
    return b"[" + b",".join(json_string(n) + b"," + json_string(v) for n, v in headers) + b"]"


def _headers_map(headers: Sequence[Header]) -> bytes:
    grouped: dict[str, list[bytes | None]] = {}
    for n, v in headers:
        grouped.setdefault(n, []).append(v)
    items = (
        json_string(n) + b":[" + b",".join(json_string(v) for v in vs) + b"]" for n, vs in grouped.items()
    )
    return b"{" + b",".join(items) + b"}"


def kcat_line(r: KafkaRecord, header_shape: str = "array") -> bytes:
    """One ``kcat -C -J`` line (with its newline)."""
    parts = [
        b'{"topic":',
        json_string(r.topic),
        b',"partition":%d,"offset":%d' % (r.partition, r.offset),
        b',"tstype":"',
        _TSTYPE[r.ts_type],
        b'","ts":%d,"broker":%d' % (r.ts, r.broker),
    ]
    if r.headers:
        shape = _headers_map if header_shape == "map" else _headers_array
        parts += [b',"headers":', shape(r.headers)]
    parts += [b',"key":', json_string(r.key), b',"payload":', json_string(r.payload), b"}\n"]
    return b"".join(parts)


def write_kcat(records: Iterable[KafkaRecord], out: BinaryIO, shapes: dict[str, str]) -> int:
    n = 0
    for r in records:
        out.write(kcat_line(r, shapes.get(r.topic, "array")))
        n += 1
    return n


def write_jsonl(records: Iterable[KafkaRecord], out: BinaryIO) -> int:
    n = 0
    for r in records:
        out.write(encode_record(r.topic, r.partition, r.offset, r.ts, r.ts_type, r.key, r.headers, r.payload))
        n += 1
    return n
