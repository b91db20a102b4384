"""A real OTLP/HTTP trace receiver on loopback for tests: decodes the protobuf
ExportTraceServiceRequests it is sent, like a collector's OTLP receiver."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class Receiver:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.requests: list[ExportTraceServiceRequest] = []
        self.content_types: list[str] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200  # what to answer

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def spans(self) -> list[tuple[str, Span]]:
        """(service.name of the span's resource, span) for every span received."""
        out: list[tuple[str, Span]] = []
        for req in self.requests:
            for rs in req.resource_spans:
                svc = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
                for ss in rs.scope_spans:
                    out.extend((svc, s) for s in ss.spans)
        return out


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            receiver.paths.append(self.path)
            receiver.content_types.append(self.headers.get("Content-Type", ""))
            receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
            if receiver.status != 200:
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            receiver.requests.append(ExportTraceServiceRequest.FromString(body))
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on what was received."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
