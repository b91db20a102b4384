"""SDK spans as an OTLP/JSON ExportTraceServiceRequest, written directly.

The same document as the OTLP exporter's protobuf encoding passed through
protobuf's JSON mapping (with OTLP/JSON's hex ids and integer enums), field
for field, without building protobuf messages: that route costs about 300 µs
per span, this one a few. tests/test_export_otlp_json.py holds the two
against each other.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind
from opentelemetry.trace.span import TraceState

log = logging.getLogger(__name__)

# proto enum values (opentelemetry.proto.trace.v1.Span.SpanKind)
_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_HAS_IS_REMOTE = 0x100  # SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = 0x200  # SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_INT64 = (-(2**63), 2**63 - 1)


def _value(v: Any) -> dict[str, Any]:
    if v is None:
        return {}
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, int):
        if not _INT64[0] <= v <= _INT64[1]:
            raise ValueError(f"{v} does not fit in 64 bits")
        return {"intValue": str(v)}  # int64 is a string in proto3 JSON
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, bytes):
        return {"bytesValue": base64.b64encode(v).decode()}
    if isinstance(v, Sequence):
        values = [_value(x) for x in v]
        return {"arrayValue": {"values": values} if values else {}}
    if isinstance(v, Mapping):
        kvs = [{"key": str(k), "value": _value(x)} for k, x in v.items()]
        return {"kvlistValue": {"values": kvs} if kvs else {}}
    raise TypeError(f"invalid attribute type {type(v).__name__}")


def _attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for key, value in (attributes or {}).items():
        try:
            out.append({"key": key, "value": _value(value)})
        except (TypeError, ValueError) as exc:
            # As the OTLP exporter does: the attribute is left out, the span kept.
            log.warning("attribute %s left out of the OTLP output: %s", key, exc)
    return out


def _put(obj: dict[str, Any], key: str, value: Any) -> None:
    """Set a field unless it has its default value (proto3 JSON omits those)."""
    if value:
        obj[key] = value


def _trace_state(ts: TraceState | None) -> str:
    return ",".join(f"{k}={v}" for k, v in ts.items()) if ts is not None else ""


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)


def _event(e: Event) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "timeUnixNano", str(e.timestamp) if e.timestamp else "")
    _put(out, "name", e.name)
    _put(out, "attributes", _attributes(e.attributes))
    _put(out, "droppedAttributesCount", e.dropped_attributes)
    return out


def _link(link: Link) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": f"{link.context.trace_id:032x}",
        "spanId": f"{link.context.span_id:016x}",
    }
    _put(out, "attributes", _attributes(link.attributes))
    _put(out, "droppedAttributesCount", link.dropped_attributes)
    out["flags"] = _flags(link.context)
    return out


def _span(s: ReadableSpan) -> dict[str, Any]:
    ctx = s.get_span_context()
    assert ctx is not None
    out: dict[str, Any] = {"traceId": f"{ctx.trace_id:032x}", "spanId": f"{ctx.span_id:016x}"}
    _put(out, "traceState", _trace_state(ctx.trace_state))
    if s.parent is not None:
        out["parentSpanId"] = f"{s.parent.span_id:016x}"
    _put(out, "name", s.name)
    _put(out, "kind", _KIND[s.kind])
    _put(out, "startTimeUnixNano", str(s.start_time) if s.start_time else "")
    _put(out, "endTimeUnixNano", str(s.end_time) if s.end_time else "")
    _put(out, "attributes", _attributes(s.attributes))
    _put(out, "droppedAttributesCount", s.dropped_attributes)
    _put(out, "events", [_event(e) for e in s.events])
    _put(out, "droppedEventsCount", s.dropped_events)
    _put(out, "links", [_link(li) for li in s.links])
    _put(out, "droppedLinksCount", s.dropped_links)
    status: dict[str, Any] = {}
    _put(status, "message", s.status.description or "")
    _put(status, "code", s.status.status_code.value)
    out["status"] = status
    out["flags"] = _flags(s.parent)
    return out


def _scope(scope: InstrumentationScope | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if scope is not None:
        _put(out, "name", scope.name)
        _put(out, "version", scope.version or "")
        _put(out, "attributes", _attributes(scope.attributes))
    return out


def encode_request(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """One ExportTraceServiceRequest as an OTLP/JSON object, spans grouped by
    resource and instrumentation scope in the order first met (as the exporter does)."""
    groups: dict[Resource, dict[InstrumentationScope | None, list[dict[str, Any]]]] = {}
    for s in spans:
        groups.setdefault(s.resource, {}).setdefault(s.instrumentation_scope or None, []).append(_span(s))
    resource_spans = []
    for resource, scopes in groups.items():
        scope_spans = []
        for scope, encoded in scopes.items():
            ss: dict[str, Any] = {"scope": _scope(scope), "spans": encoded}
            _put(ss, "schemaUrl", scope.schema_url if scope is not None else "")
            scope_spans.append(ss)
        res: dict[str, Any] = {}
        _put(res, "attributes", _attributes(resource.attributes))
        rs: dict[str, Any] = {"resource": res, "scopeSpans": scope_spans}
        _put(rs, "schemaUrl", resource.schema_url)
        resource_spans.append(rs)
    out: dict[str, Any] = {}
    _put(out, "resourceSpans", resource_spans)
    return out
