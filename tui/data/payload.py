"""Show raw record bytes to a person: JSON pretty-printed, text as text,
anything else as a hex dump. Never raises on content."""

from __future__ import annotations

import orjson

from choreo.core.schema import PAYLOAD_EMPTY, PAYLOAD_JSON, PAYLOAD_NULL

MAX_SHOWN_BYTES = 64 * 1024
HEX_DUMP_BYTES = 512


def hex_dump(data: bytes, limit: int = HEX_DUMP_BYTES) -> str:
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off : off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  {text}")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit:,} more bytes")
    return "\n".join(lines)


def pretty_payload(payload: bytes | None, kind: str) -> str:
    if kind == PAYLOAD_NULL or payload is None:
        return "(null payload: a tombstone)"
    if kind == PAYLOAD_EMPTY or not payload:
        return "(empty payload: zero bytes)"
    head = payload[:MAX_SHOWN_BYTES]
    more = f"\n... {len(payload) - MAX_SHOWN_BYTES:,} more bytes" if len(payload) > MAX_SHOWN_BYTES else ""
    if kind == PAYLOAD_JSON:
        try:
            return orjson.dumps(orjson.loads(payload), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            pass  # classified at ingest; shown as text below if that changed
    try:
        return head.decode("utf-8") + more
    except UnicodeDecodeError:
        return f"({kind} payload, {len(payload):,} bytes)\n" + hex_dump(payload)


def header_value(value: bytes | None) -> str:
    if value is None:
        return "(null)"
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + value[:64].hex() + ("..." if len(value) > 64 else "")
    return text if text.isprintable() else repr(text)
