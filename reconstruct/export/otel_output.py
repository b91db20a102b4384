"""Where OpenTelemetry traces go: an OTLP/JSON file, or an OTLP/HTTP endpoint.

The file is JSON Lines, one ExportTraceServiceRequest per line, as written by
the OpenTelemetry Collector's file exporter and read by its ``otlpjsonfile``
receiver (encoded by reconstruct.otlp_json). OTLP/JSON differs from
protobuf's canonical JSON in two ways that matter: trace and span ids are
hex, not base64, and enums are integers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import orjson
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from choreo.core.errors import ExportError, InputError
from choreo.reconstruct.export.otlp_json import encode_request

_EXPORTER_LOGGERS = ("opentelemetry.exporter.otlp.proto.http", "opentelemetry.exporter.otlp.common")


@dataclass
class OtelStats:
    traces: int = 0
    spans: int = 0
    requests: int = 0


def _count(spans: Sequence[ReadableSpan], stats: OtelStats) -> None:
    stats.spans += len(spans)
    stats.traces += sum(1 for s in spans if s.parent is None)
    stats.requests += 1


def write_file(pages: Iterable[Sequence[ReadableSpan]], path: Path) -> OtelStats:
    try:
        with path.open("wb") as f:
            return write_stream(pages, f)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_stream(pages: Iterable[Sequence[ReadableSpan]], out: BinaryIO) -> OtelStats:
    """OTLP/JSON lines, one request per page of spans, to ``out``."""
    stats = OtelStats()
    for spans in pages:
        if spans:
            out.write(orjson.dumps(encode_request(spans)) + b"\n")
            _count(spans, stats)
    return stats


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL: a bare ``http://host:4318`` gets ``/v1/traces``."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"--endpoint {endpoint!r} is not an http(s) URL (e.g. http://localhost:4318)")
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


class _Capture(logging.Handler):
    """Keeps the exporter's error messages so the failure can be named in one line."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def send(
    pages: Iterable[Sequence[ReadableSpan]],
    endpoint: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> OtelStats:
    """Send spans over OTLP/HTTP (protobuf), one request per page; ExportError
    naming the cause when the endpoint does not take them."""
    url = traces_url(endpoint)
    exporter = OTLPSpanExporter(endpoint=url, headers=dict(headers or {}), timeout=timeout)
    capture = _Capture()
    loggers = [logging.getLogger(n) for n in _EXPORTER_LOGGERS]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        # The failure is reported once, as our own one-line error.
        lg.addHandler(capture)
        lg.propagate = False
        lg.setLevel(logging.WARNING)
    stats = OtelStats()
    try:
        for spans in pages:
            if not spans:
                continue
            if exporter.export(spans) is not SpanExportResult.SUCCESS:
                cause = capture.messages[-1] if capture.messages else "no detail"
                raise ExportError(
                    f"{url} did not accept the traces ({stats.requests} requests sent before): {cause}"
                )
            _count(spans, stats)
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]
        for lg, (prop, level) in zip(loggers, saved, strict=True):
            lg.removeHandler(capture)
            lg.propagate = prop
            lg.setLevel(level)
    return stats
