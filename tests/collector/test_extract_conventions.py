"""Extraction without config: the conventions of DESIGN.md "Events and identifiers"."""

from __future__ import annotations

import json

from choreo.collector.extract import Extractor

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_correlation_headers_each_spelling() -> None:
    ex = Extractor()
    for name in ("correlation-id", "x-correlation-id", "correlationId", "Correlation-ID", "correlation_id"):
        out = ex.extract("orders", None, [(name, b"c-42")], _json({"a": 1}))
        assert ("correlation-id" if name.lower() == "correlation-id" else name.lower(), "c-42") in (
            out.identifiers
        ), name


def test_first_header_of_a_name_wins_and_null_headers_are_skipped() -> None:
    out = Extractor().extract(
        "t", None, [("correlation-id", None), ("correlation-id", b"a"), ("correlation-id", b"b")], None
    )
    assert [i for i in out.identifiers if i[0] == "correlation-id"] == [("correlation-id", "a")]


def test_traceparent_header_gives_trace_id() -> None:
    out = Extractor().extract("t", None, [("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01".encode())], b"{}")
    assert out.trace_id == TRACE
    assert ("trace_id", TRACE) in out.identifiers


def test_invalid_or_zero_traceparent_is_ignored() -> None:
    ex = Extractor()
    for value in (b"garbage", b"00-" + b"0" * 32 + b"-00f067aa0ba902b7-01", b"00-abc-def-01"):
        out = ex.extract("t", None, [("traceparent", value)], b"{}")
        assert out.trace_id is None
        assert not [i for i in out.identifiers if i[0] == "trace_id"]


def test_traceparent_in_payload() -> None:
    out = Extractor().extract("t", None, None, _json({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}))
    assert out.trace_id == TRACE


def test_cloudevents_binary_mode() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"evt-1"),
        ("ce_type", b"com.shop.OrderPlaced"),
        ("ce_source", b"/orders/service"),
        ("ce_time", b"2024-05-01T10:00:00.250Z"),
        ("ce_subject", b"order-4711"),
    ]
    out = Extractor().extract("orders", None, headers, _json({"orderId": "4711"}))
    assert out.event_type == "com.shop.OrderPlaced"
    assert out.service == "/orders/service"
    assert out.event_id == "evt-1"
    assert out.event_time_ms == 1714557600250
    assert ("ce_subject", "order-4711") in out.identifiers
    assert ("orderId", "4711") in out.identifiers


def test_cloudevents_structured_mode() -> None:
    doc = {
        "specversion": "1.0",
        "id": "evt-9",
        "type": "ShipmentDelivered",
        "source": "courier",
        "time": "2024-05-01T10:00:00Z",
        "data": {"shipmentId": "s-1", "address": {"zipId": "z-9"}},
    }
    out = Extractor().extract("shipping", None, None, _json(doc))
    assert (out.event_type, out.service, out.event_id) == ("ShipmentDelivered", "courier", "evt-9")
    assert out.event_time_ms == 1714557600000
    assert ("data.shipmentId", "s-1") in out.identifiers
    assert ("data.address.zipId", "z-9") in out.identifiers


def test_payload_type_fields_and_correlation_fields() -> None:
    ex = Extractor()
    assert ex.extract("t", None, None, _json({"eventType": "A"})).event_type == "A"
    assert ex.extract("t", None, None, _json({"event_type": "B"})).event_type == "B"
    assert ex.extract("t", None, None, _json({"type": "C", "eventType": "D"})).event_type == "C"
    out = ex.extract("t", None, None, _json({"correlationId": "c1", "sagaId": "s1"}))
    assert {("correlationId", "c1"), ("sagaId", "s1")} <= set(out.identifiers)


def test_header_beats_payload_for_type() -> None:
    out = Extractor().extract("t", None, [("ce_type", b"FromHeader")], _json({"type": "FromPayload"}))
    assert out.event_type == "FromHeader"


def test_metadata_envelope() -> None:
    doc = {
        "payload": {"orderId": "o-1"},
        "metadata": {"eventId": "e-1", "causationId": "e-0", "source": "orders-svc", "type": "OrderPlaced"},
    }
    out = Extractor().extract("t", None, None, _json(doc))
    assert (out.event_type, out.service, out.event_id, out.causation_id) == (
        "OrderPlaced",
        "orders-svc",
        "e-1",
        "e-0",
    )
    assert ("payload.orderId", "o-1") in out.identifiers
    # The event's own id and its cause are links, not correlation identifiers.
    names = {n for n, _ in out.identifiers}
    assert not names & {"metadata.eventId", "metadata.causationId"}


def test_fallbacks_type_and_service_to_topic() -> None:
    out = Extractor().extract("payments", None, None, _json({"amount": 3}))
    assert (out.event_type, out.service) == ("payments", "payments")
    assert out.event_id is None and out.causation_id is None and out.trace_id is None


def test_causation_headers_and_fields() -> None:
    ex = Extractor()
    assert ex.extract("t", None, [("causation-id", b"e-1")], b"{}").causation_id == "e-1"
    assert ex.extract("t", None, None, _json({"causationId": "e-2"})).causation_id == "e-2"
    out = ex.extract("t", None, None, _json({"eventId": "e-3", "causationId": "e-2"}))
    assert out.event_id == "e-3"
    assert not [n for n, _ in out.identifiers if n in ("eventId", "causationId")]


def test_id_like_fields_nested_and_depth_limit() -> None:
    doc = {
        "id": "own-id",
        "orderId": "o-1",
        "customer_id": 42,
        "shipment": {"id": "s-1", "trackingUuid": "u-1"},
        "a": {"b": {"c": {"d": {"deepId": "too-deep"}}}},
        "flag": True,
        "amountId": 1.5,  # not text or integer
        "items": [{"skuId": "in-a-list"}],
    }
    ids = set(Extractor().extract("t", None, None, _json(doc)).identifiers)
    assert {
        ("orderId", "o-1"),
        ("customer_id", "42"),
        ("shipment.id", "s-1"),
        ("shipment.trackingUuid", "u-1"),
    } <= ids
    values = {v for _, v in ids}
    assert not values & {"own-id", "too-deep", "1.5", "in-a-list"}


def test_key_is_an_identifier_when_printable() -> None:
    ex = Extractor()
    assert ("key", "o-1") in ex.extract("t", b"o-1", None, b"{}").identifiers
    for key in (b"\x00\x01bin", b"\xff\xfe", b"x" * 300, b"line\nbreak"):
        assert not [n for n, _ in ex.extract("t", key, None, b"{}").identifiers if n == "key"], key


def test_identifiers_are_unique_and_long_values_skipped() -> None:
    doc = {"orderId": "o-1", "x": {"orderId": "o-1"}, "longId": "v" * 300}
    out = Extractor().extract(
        "t", b"o-1", [("correlation-id", b"o-1"), ("correlation-id", b"o-1")], _json(doc)
    )
    assert len(out.identifiers) == len(set(out.identifiers))
    assert not [v for _, v in out.identifiers if len(v) > 256]


def test_event_time_formats() -> None:
    ex = Extractor()
    ms = 1714557600000
    for value in ("2024-05-01T10:00:00Z", "2024-05-01T12:00:00+02:00", 1714557600, ms, ms * 1000):
        assert ex.extract("t", None, None, _json({"timestamp": value})).event_time_ms == ms, value
    for value in ("2024-05-01T10:00:00", "yesterday", True, ""):
        assert ex.extract("t", None, None, _json({"timestamp": value})).event_time_ms is None, value


def test_non_text_type_values_fall_back() -> None:
    out = Extractor().extract("t", None, None, _json({"type": {"nested": 1}, "service": 7}))
    assert out.event_type == "t"
    assert out.service == "7"


def test_json_array_payload_is_json_without_fields() -> None:
    out = Extractor().extract("t", None, None, b'[{"orderId": "o-1"}]')
    assert out.payload_kind == "json"
    assert out.event_type == "t"
    assert out.identifiers == []
