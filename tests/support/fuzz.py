"""Random hostile records for the fuzz tests: what a careless or hostile
producer can put into a Kafka record or a dump line.

Everything comes from one seeded ``random.Random``, so a failing seed can be
replayed (CHOREO_FUZZ_SEED). Families, each drawn at random per record:

- payloads: random bytes, empty, null (a tombstone), not UTF-8, text that is
  not JSON, and JSON documents built to hurt: huge and tiny numbers (past
  int64, 1e308, 1e400, -1e20 as a time), deep nesting, long strings, control
  characters and escapes of lone surrogates in strings, raw non-UTF-8 bytes
  in keys and strings, odd types where choreo looks for a type, an id or a
  time;
- keys: none, random bytes, text with controls;
- header sets: none, many, repeated names, names and values that are not
  UTF-8 or carry control characters, null values.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass

_FIELDS = (
    "type",
    "eventType",
    "orderId",
    "order_id",
    "correlationId",
    "sagaId",
    "time",
    "timestamp",
    "occurredAt",
    "eventId",
    "causationId",
    "source",
    "service",
)
_NASTY_TEXT = (
    "\x00",
    "\x1b[2J",
    "\x1b]0;x\x07",
    "\u202e",
    "\ufffe",
    "\u2028",
    "é",
    "🙂",
    '"',
    "\\",
    "'",
    "<script>",
    "%s%n",
    "",
)
_NASTY_NUMBERS = (
    "1e300",
    "-1e300",
    "1e400",
    "-1e400",
    "1e-400",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999999999",
    "-1e20",
    "1.5e15",
    "0",
    "-0.0",
    "1e16",
    "-9.3e15",
)


@dataclass(frozen=True)
class FuzzRecord:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[bytes, bytes | None]]


class Fuzzer:
    """Random records and dump lines, hostile in every part (times past int64
    milliseconds and NaN in time fields and ce_time, header names that are
    not UTF-8 included), reproducible from ``seed``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # -- pieces ---------------------------------------------------------------
    def raw(self, n: int = 64) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, n))

    def text(self) -> str:
        r = self.rng
        parts = [r.choice(_NASTY_TEXT) if r.random() < 0.5 else f"v-{r.randint(0, 50)}" for _ in range(3)]
        return "".join(parts)

    def _string_token(self) -> bytes:
        """A JSON string token, sometimes with raw non-UTF-8 bytes or a lone surrogate escape."""
        r = self.rng.random()
        if r < 0.15:
            return b'"' + bytes(self.rng.choice((0x80, 0xFF, 0xC3, 0xED)) for _ in range(3)) + b'"'
        if r < 0.25:
            return b'"\\udc80\\ud800x"'
        if r < 0.3:
            return json.dumps("y" * self.rng.randint(1000, 100_000)).encode()
        return json.dumps(self.text()).encode()

    def _value(self, depth: int) -> bytes:
        r = self.rng.random()
        if depth > 0 and r < 0.25:
            return self._object(depth - 1)
        if depth > 0 and r < 0.35:
            items = [self._value(depth - 1) for _ in range(self.rng.randint(0, 4))]
            return b"[" + b",".join(items) + b"]"
        if r < 0.6:
            return self.rng.choice(_NASTY_NUMBERS).encode()
        if r < 0.65:
            return self.rng.choice((b"true", b"false", b"null", b"NaN", b"Infinity"))
        return self._string_token()

    def _object(self, depth: int) -> bytes:
        pairs = []
        for _ in range(self.rng.randint(0, 6)):
            field = self.rng.choice(_FIELDS)
            name = json.dumps(field).encode() if self.rng.random() < 0.6 else self._string_token()
            pairs.append(name + b":" + self._value(depth))
        return b"{" + b",".join(pairs) + b"}"

    def deep(self) -> bytes:
        n = self.rng.choice((50, 500, 5_000, 100_000))
        inner = b'{"a":' * n + b"1" + b"}" * n
        return b'{"type":"Deep","orderId":"d-1","x":' + inner + b"}"

    # -- records --------------------------------------------------------------
    def payload(self) -> bytes | None:
        r = self.rng.random()
        if r < 0.05:
            return None
        if r < 0.1:
            return b""
        if r < 0.25:
            return self.raw(300)
        if r < 0.3:
            return self.deep()
        if r < 0.35:
            return self.text().encode("utf-8", "surrogatepass")
        return self._object(self.rng.randint(0, 4))

    def key(self) -> bytes | None:
        r = self.rng.random()
        if r < 0.3:
            return None
        if r < 0.6:
            return self.raw(40)
        return self.text().encode("utf-8", "surrogatepass")

    def headers(self) -> list[tuple[bytes, bytes | None]]:
        out: list[tuple[bytes, bytes | None]] = []
        for _ in range(self.rng.choice((0, 0, 1, 3, 20))):
            r = self.rng.random()
            if r < 0.2:
                name = self.raw(12) or b"x"
            elif r < 0.4:
                name = self.rng.choice((b"correlation-id", b"traceparent", b"ce_type", b"ce_time", b"ce_id"))
            else:
                name = self.text().encode("utf-8", "surrogatepass") or b"h"
            out.append((name, self._header_value(name)))
        return out

    def _header_value(self, name: bytes) -> bytes | None:
        if self.rng.random() < 0.1:
            return None
        return self.raw(30) if self.rng.random() < 0.5 else self.text().encode("utf-8", "surrogatepass")

    def record(self) -> FuzzRecord:
        return FuzzRecord(self.key(), self.payload(), self.headers())

    # -- dump lines -----------------------------------------------------------
    def plain_line(self) -> bytes:
        r = self.rng.random()
        if r < 0.2:
            return self.raw(200).replace(b"\n", b" ")
        if r < 0.25:
            return self.deep()
        return self._object(self.rng.randint(0, 4))

    def kcat_line(self, topic: str, offset: int) -> bytes:
        """A kcat -J envelope (raw bytes in strings, as kcat writes them), sometimes broken."""
        rec = self.record()
        headers = b"null"
        if rec.headers:
            shape = self.rng.randint(0, 2)
            if shape == 0:  # flat array
                items = [_jstr(n) + b"," + _jval(v) for n, v in rec.headers]
                headers = b"[" + b",".join(items) + b"]"
            else:  # object of lists, or of strings
                wrap = (lambda v: b"[" + _jval(v) + b"]") if shape == 1 else _jval
                headers = b"{" + b",".join(_jstr(n) + b":" + wrap(v) for n, v in rec.headers) + b"}"
        ts = self.rng.choice((b"1700000000000", b"-5", b"1e300", b"99999999999999999999", b'"x"'))
        line = (
            b'{"topic":' + _jstr(topic.encode()) + b',"partition":0,"offset":' + str(offset).encode()
            + b',"tstype":"create","ts":' + ts + b',"broker":1,"headers":' + headers
            + b',"key":' + _jval(rec.key) + b',"payload":' + _jval(rec.value) + b"}"
        )  # fmt: skip
        if self.rng.random() < 0.05:
            line = line[: self.rng.randint(1, len(line))]  # cut short
        return line

    def choreo_line(self, topic: str, offset: int) -> bytes:
        """choreo's own JSONL, with base64 for what is not UTF-8, sometimes odd."""
        rec = self.record()
        doc: dict[str, object] = {
            "choreo": 1,
            "topic": topic,
            "partition": 0,
            "offset": offset,
            "ts_ms": self.rng.choice((1_700_000_000_000, None, 2**63, -(2**63) - 1)),
            "ts_type": self.rng.choice((0, 1, 2, 7)),
            "key": _b64_or_text(rec.key),
            "payload": _b64_or_text(rec.value),
            "headers": [[_text(n), _b64_or_text(v)] for n, v in rec.headers] or None,
        }
        return json.dumps(doc).encode()


def _jstr(raw: bytes) -> bytes:
    """A JSON string with raw bytes inside, escaped only where JSON needs it (as kcat does)."""
    out = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    for c in range(0x20):
        out = out.replace(bytes([c]), f"\\u{c:04x}".encode())
    return b'"' + out + b'"'


def _jval(raw: bytes | None) -> bytes:
    return b"null" if raw is None else _jstr(raw)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _b64_or_text(raw: bytes | None) -> object:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(raw).decode()}
