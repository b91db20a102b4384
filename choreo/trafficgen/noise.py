"""Records that are not events, as they turn up in real topics: log lines
and stack traces published by mistake, Avro/protobuf bytes, empty values,
Latin-1 text, and JSON cut short by a failed write."""

from __future__ import annotations

import random

POISON_KINDS = ("text", "binary", "empty", "invalid-utf8")
_LOG_LINES = (
    b"ERROR %s: could not serialise record %d, see logs",
    b"java.lang.IllegalStateException: producer closed (%s, attempt %d)",
    b"WARN %s bridge fallback: raw message #%d",
    b"%s heartbeat %d",
)


def poison_payload(rng: random.Random, kind: str, who: str) -> bytes:
    n = rng.randint(0, 9999)
    if kind == "text":
        return rng.choice(_LOG_LINES) % (who.encode(), n)
    if kind == "binary":
        # Confluent wire format: magic byte 0, 4-byte schema id, then Avro.
        body = bytes(rng.randrange(256) for _ in range(rng.randint(8, 40)))
        return b"\x00" + rng.randint(1, 500).to_bytes(4, "big") + b"\x02\x0c" + body
    if kind == "empty":
        return b""
    # Latin-1 text that is not valid UTF-8.
    return (
        rng.choice(("caf\u00e9 cr\u00e8me %d", "na\u00efve r\u00e9sum\u00e9 %d", "\u00a3%d gebühr"))
        .replace("%d", str(n))
        .encode("latin-1")
    )


def truncate(rng: random.Random, payload: bytes) -> bytes:
    """A JSON object cut short: never valid JSON, never empty."""
    if len(payload) < 3:
        return b"{"
    cut = rng.randint(max(1, len(payload) // 4), len(payload) - 2)
    return payload[:cut]
