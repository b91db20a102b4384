"""The direct OTLP/JSON encoding equals the OTLP exporter's protobuf encoding
through protobuf's JSON mapping (hex ids, integer enums), field for field."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import AttributeValue

from choreo.core.store import Store
from choreo.reconstruct.export.otel import TraceBuilder
from choreo.reconstruct.export.otel_output import write_file
from choreo.reconstruct.export.otlp_json import encode_request
from choreo.reconstruct.export.selection import InstanceFilter
from tests.support.export_data import Recorded, build_store


def _protobuf_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    doc: dict[str, Any] = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)

    def hex_ids(obj: dict[str, Any]) -> None:
        for k in ("traceId", "spanId", "parentSpanId"):
            if obj.get(k):
                obj[k] = base64.b64decode(obj[k]).hex()

    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                hex_ids(span)
                for link in span.get("links", []):
                    hex_ids(link)
    return doc


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    return build_store(tmp_path_factory.mktemp("otlp") / "store.duckdb")


def test_exported_traces_encode_as_the_exporter_does(built: Recorded) -> None:
    with Store.open(built.db, read_only=True) as store:
        pages = list(TraceBuilder(store).pages(InstanceFilter(), page_size=4))
    assert len(pages) > 1 and sum(len(p) for p in pages) > 30
    for spans in pages:
        assert encode_request(spans) == _protobuf_json(spans)


def test_every_field_and_value_type_encodes_as_the_exporter_does() -> None:
    parent = SpanContext(0xABC, 0x12, True, TraceFlags(TraceFlags.SAMPLED))
    ctx = SpanContext(
        0xABC, 0x34, False, TraceFlags(TraceFlags.SAMPLED), TraceState([("k", "v"), ("a", "b")])
    )
    scope = InstrumentationScope("choreo", "1.0", "https://schema", {"scope.attr": 1})
    resource = Resource({"service.name": "svc", "n": 0, "flag": False}, "https://res")
    attrs: dict[str, AttributeValue] = {
        "s": "",
        "i": -(2**63),
        "f": 1.5,
        "b": True,
        "bytes": b"\x00\xff",
        "list": ["a", "b"],
        "ints": (1, 2),
        "empty": [],
    }
    spans = [
        ReadableSpan(
            "step",
            ctx,
            parent=parent,
            resource=resource,
            attributes=attrs,
            events=[Event("e", {"x": 1}, 123), Event("bare", None, 0)],
            links=[Link(parent, {"why": "traceparent"}), Link(ctx)],
            kind=SpanKind.PRODUCER,
            status=Status(StatusCode.ERROR, "failed"),
            start_time=1,
            end_time=2,
            instrumentation_scope=scope,
        ),
        ReadableSpan("root", SpanContext(0xABC, 0x56, False), resource=Resource({}), kind=SpanKind.INTERNAL),
        ReadableSpan("ok", SpanContext(1, 2, False), status=Status(StatusCode.OK), kind=SpanKind.CONSUMER),
    ]
    assert encode_request(spans) == _protobuf_json(spans)
    assert encode_request([]) == _protobuf_json([])


def test_file_output_uses_the_direct_encoding(built: Recorded, tmp_path: Path) -> None:
    with Store.open(built.db, read_only=True) as store:
        pages = list(TraceBuilder(store).pages(InstanceFilter(), page_size=4))
    out = tmp_path / "t.jsonl"
    stats = write_file(pages, out)
    lines = out.read_bytes().splitlines()
    assert stats.requests == len(lines) == len(pages)
    assert [orjson.loads(line) for line in lines] == [_protobuf_json(p) for p in pages]
