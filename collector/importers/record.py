"""What every dump decoder produces: one Kafka record as the fields that
``EventBatch.add`` takes, and the error for a line that is not one."""

from __future__ import annotations

import json

import orjson

from choreo.collector.extract import Header

# (topic, partition, offset, ts_ms, ts_type, key, headers, payload), in the
# order of EventBatch.add's parameters.
Record = tuple[str, int, int, int | None, int, bytes | None, list[Header] | None, bytes | None]

TS_UNKNOWN = 0
TS_CREATE = 1
TS_LOG_APPEND = 2


class BadLine(ValueError):
    """A line (or record) that cannot be decoded; the message says why, briefly."""


def text_to_bytes(value: str) -> bytes:
    """Back to the bytes a JSON string was made from.

    Strings decoded from non-UTF-8 input carry the raw bytes as lone
    surrogates (``surrogateescape``); those become the original bytes again.
    """
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # A JSON \\uD800-style escape of a lone surrogate: keep what it said.
        return value.encode("utf-8", "surrogatepass")


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def require_int(obj: dict[str, object], name: str, maximum: int = INT64_MAX) -> int:
    """A non-negative integer field (partition, offset)."""
    value = obj.get(name)
    if type(value) is not int:
        raise BadLine(f"{name} missing or not an integer")
    if not 0 <= value <= maximum:
        raise BadLine(f"{name} {value} is out of range")
    return value


def optional_time(obj: dict[str, object], name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if type(value) is not int or not -INT64_MAX <= value <= INT64_MAX:
        raise BadLine(f"{name} is not an integer timestamp")
    return value


def clean_text(value: str) -> str:
    """Text for a VARCHAR column: raw non-UTF-8 bytes become U+FFFD."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return text_to_bytes(value).decode("utf-8", "replace")
    return value


def require_topic(obj: dict[str, object]) -> str:
    topic = obj.get("topic")
    if not isinstance(topic, str) or not topic:
        raise BadLine("topic missing or not a string")
    return clean_text(topic)


def parse_json_line(line: bytes) -> object:
    """Parse one JSON line; raw non-UTF-8 bytes inside strings are kept.

    kcat writes key and payload bytes into its JSON strings unescaped, so a
    binary payload makes the line invalid UTF-8. orjson (the fast path)
    refuses such lines; the fallback decodes with ``surrogateescape`` so that
    ``text_to_bytes`` can restore the exact bytes.
    """
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line.decode("utf-8", "surrogateescape"))
    except ValueError as exc:  # JSONDecodeError, or a number too deep/long
        raise BadLine(f"not JSON ({_short(exc)})") from None
    except RecursionError:
        raise BadLine("not JSON (nested too deeply)") from None


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:80]
