"""Payloads that are not JSON documents are classified, never raise."""

from __future__ import annotations

import pytest

from choreo.collector.extract import Extractor

CASES = [
    (None, "null"),
    (b"", "empty"),
    (b"plain text", "text"),
    (b"   ", "text"),
    (b'{"broken": ', "text"),
    (b"[1, 2", "text"),
    (b"\x00\x00\x00\x01\x08avro", "binary"),
    (b"\x0a\x05hello\x10\x01", "binary"),  # protobuf-like
    (b"caf\xe9", "invalid-utf8"),
    (b"\xff\xfe\xfd text", "invalid-utf8"),
    (b'  {"a": 1}', "json"),
    (b"[]", "json"),
    (b'"just a string"', "text"),
    (b"42", "text"),
]


def test_classification_of_a_batch() -> None:
    out = Extractor().extract_many([("t", None, None, payload) for payload, _ in CASES])
    assert [e.payload_kind for e in out] == [kind for _, kind in CASES]


@pytest.mark.parametrize(("payload", "kind"), CASES)
def test_extract_never_raises_and_keeps_what_it_can(payload: bytes | None, kind: str) -> None:
    out = Extractor().extract(
        "orders", b"o-1", [("correlation-id", b"c-1"), ("ce_type", b"OrderPlaced")], payload
    )
    assert out.payload_kind == kind
    assert out.event_type == "OrderPlaced"
    assert {("correlation-id", "c-1"), ("key", "o-1")} <= set(out.identifiers)


def test_binary_header_values_do_not_break_extraction() -> None:
    out = Extractor().extract("t", None, [("correlation-id", b"\xff\xfe"), ("x-bin", b"\x00\x01")], b"{}")
    assert out.payload_kind == "json"
