"""Record shapes the example services use, as varied as real systems:
plain JSON events, CloudEvents in Kafka binary mode (``ce_*`` headers),
W3C ``traceparent`` propagation, and a few kinds of poison records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from choreo.demo.runtime import Ctx, Outbound, stable_hex


def iso(ms: int) -> str:
    """RFC 3339 UTC with milliseconds, as CloudEvents' ce_time."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _headers(pairs: Iterable[tuple[str, str | None]]) -> tuple[tuple[str, bytes], ...]:
    return tuple((n, v.encode()) for n, v in pairs if v is not None)


def json_record(
    topic: str,
    key: str | None,
    body: Mapping[str, Any],
    *,
    event_type: str,
    headers: Iterable[tuple[str, str | None]] = (),
    ids: Mapping[str, str] | None = None,
) -> Outbound:
    return Outbound(topic, key, orjson.dumps(body), _headers(headers), event_type, dict(ids or {}))


def cloudevent_record(
    topic: str,
    key: str | None,
    *,
    ce_type: str,
    source: str,
    ce_id: str,
    time_ms: int,
    data: Mapping[str, Any],
    subject: str | None = None,
    headers: Iterable[tuple[str, str | None]] = (),
    ids: Mapping[str, str] | None = None,
) -> Outbound:
    """A CloudEvent in Kafka protocol binding binary mode: attributes as ce_ headers, data as value."""
    ce: list[tuple[str, str | None]] = [
        ("ce_specversion", "1.0"),
        ("ce_id", ce_id),
        ("ce_type", ce_type),
        ("ce_source", source),
        ("ce_time", iso(time_ms)),
        ("ce_subject", subject),
        ("content-type", "application/json"),
    ]
    return Outbound(topic, key, orjson.dumps(data), _headers([*ce, *headers]), ce_type, dict(ids or {}))


def new_traceparent(ctx: Ctx, *parts: object) -> str:
    """A fresh W3C trace context (sampled) for a new trace."""
    trace = stable_hex(ctx.seed, "trace", *parts, n=32)
    span = stable_hex(ctx.seed, "span", *parts, n=16)
    return f"00-{trace}-{span}-01"


def child_traceparent(parent: str | None, ctx: Ctx, *parts: object) -> str | None:
    """Continue the caller's trace with a new span id; None when there is no trace to continue."""
    if not parent:
        return None
    fields = parent.split("-")
    if len(fields) != 4 or len(fields[1]) != 32:
        return None
    span = stable_hex(ctx.seed, "span", *parts, n=16)
    return f"00-{fields[1]}-{span}-{fields[3]}"


POISON_KINDS = ("text", "binary", "empty", "invalid-utf8")


def poison_value(kind: str, n: int) -> bytes:
    """A record a misbehaving producer might write: not a JSON event at all."""
    if kind == "text":
        return f"ERROR legacy-bridge: could not serialise record {n}, see logs".encode()
    if kind == "binary":
        # An Avro-ish frame: magic byte, schema id, then bytes.
        return b"\x00\x00\x00\x00\x07" + bytes(range(1, 24)) + n.to_bytes(4, "big")
    if kind == "empty":
        return b""
    if kind == "invalid-utf8":
        return b"order \xff\xfe total=" + str(n).encode() + b" \xc3\x28"
    raise ValueError(f"unknown poison kind {kind!r}")
