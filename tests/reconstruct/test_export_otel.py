"""`choreo export otel`: received by a real OTLP/HTTP receiver and decoded."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from choreo.core.store import Store
from tests.support.export_data import TRACE_ID, TRACED_ORDER, Recorded, build_store, run_choreo
from tests.support.otlp_receiver import otlp_receiver


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    path = tmp_path_factory.mktemp("otel") / "store.duckdb"
    return build_store(path)


def _attrs(span: Span) -> dict[str, object]:
    out: dict[str, object] = {}
    for kv in span.attributes:
        v = kv.value
        out[kv.key] = getattr(v, v.WhichOneof("value"))
    return out


def test_traces_received_over_otlp_http(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    with otlp_receiver() as rx:
        code, _, err = run_choreo(
            ["export", "otel", *rec.args, "--endpoint", rx.endpoint, "-H", "x-tenant=ops"], capsys
        )
    assert code == 0, err
    assert rx.paths and set(rx.paths) == {"/v1/traces"}
    assert set(rx.content_types) == {"application/x-protobuf"}
    assert rx.headers[0]["x-tenant"] == "ops"
    spans = rx.spans()
    with Store.open(rec.db, read_only=True) as store:
        n_instances = store.query("SELECT count(*) FROM instances")[0][0]
        n_steps = store.query("SELECT count(*) FROM instance_events WHERE duplicate_of_seq IS NULL")[0][0]
    # One root per instance plus one span per distinct event (the redelivery is not a span).
    assert len(spans) == n_instances + n_steps == len(rec.orders) + rec.records - rec.duplicates
    assert f"{n_instances} traces, {len(spans)} spans" in err

    by_id = {s.span_id: (svc, s) for svc, s in spans}
    roots = [s for _, s in spans if not s.parent_span_id]
    assert len(roots) == n_instances
    assert len({s.trace_id for s in roots}) == n_instances  # one trace per instance
    for svc, s in spans:
        if s.parent_span_id:
            # Every parent exists and is in the same trace.
            _, parent = by_id[s.parent_span_id]
            assert parent.trace_id == s.trace_id
            assert s.start_time_unix_nano >= parent.start_time_unix_nano
            a = _attrs(s)
            assert a["messaging.system"] == "kafka"
            assert a["messaging.destination.name"] in {"orders", "payments", "inventory", "shipments"}
            assert a["messaging.destination.partition.id"] in {"0", "1"}
            assert isinstance(a["messaging.kafka.offset"], int)
            assert s.kind == Span.SPAN_KIND_PRODUCER
            assert svc.endswith("-service")


def test_causation_becomes_parent_links(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    with otlp_receiver() as rx:
        code, _, err = run_choreo(["export", "otel", *rec.args, "--endpoint", rx.endpoint], capsys)
    assert code == 0, err
    spans = [s for _, s in rx.spans()]
    by_id = {s.span_id: s for s in spans}
    # Order o-4's chain: each step's parent is the step before it (causationId).
    o4 = [s for s in spans if _attrs(s).get("messaging.kafka.message.key") == "o-4"]
    chain = {s.name: s for s in o4}
    assert list(rec.orders["o-4"]) == sorted(chain, key=lambda n: chain[n].start_time_unix_nano)
    for prev, step in zip(rec.orders["o-4"], rec.orders["o-4"][1:], strict=False):
        assert by_id[chain[step].parent_span_id].name == prev
    first = by_id[chain["OrderPlaced"].parent_span_id]
    assert not first.parent_span_id and _attrs(first)["choreo.status"] == "completed"
    # The redelivered PaymentAuthorized of o-1 is one span with a redelivery event.
    paid = [s for s in spans if s.name == "PaymentAuthorized" and _attrs(s).get("choreo.duplicates")]
    assert len(paid) == 1 and [e.name for e in paid[0].events] == ["redelivered"]


def test_traceparent_trace_id_is_reused(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    with otlp_receiver() as rx:
        code, _, _ = run_choreo(["export", "otel", *rec.args, "--endpoint", rx.endpoint], capsys)
    assert code == 0
    spans = [s for _, s in rx.spans()]
    traced = [s for s in spans if s.trace_id.hex() == TRACE_ID]
    # The whole o-3 instance: its root and every step, and nothing else.
    assert len(traced) == 1 + len(rec.orders[TRACED_ORDER])
    steps = [s for s in traced if s.parent_span_id]
    assert {_attrs(s)["messaging.kafka.message.key"] for s in steps} == {TRACED_ORDER}
    for s in steps:  # each step links to the producer's span from its traceparent
        assert [lk.trace_id.hex() for lk in s.links] == [TRACE_ID]


def test_status_filter_and_stuck_root(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    with otlp_receiver() as rx:
        code, _, err = run_choreo(
            [
                "export",
                "otel",
                *rec.args,
                "--status",
                "stuck",
                "--endpoint",
                rx.endpoint + "/v1/traces",
            ],
            capsys,
        )
    assert code == 0, err
    spans = [s for _, s in rx.spans()]
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == 1
    root = roots[0]
    assert root.status.code == root.status.STATUS_CODE_ERROR
    assert "InventoryReserved" in root.status.message
    assert [e.name for e in root.events] == ["stuck"]
    assert len(spans) == 3  # root, OrderPlaced, PaymentAuthorized


def test_otlp_json_file(built: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    out = tmp_path / "t.jsonl"
    code, _, err = run_choreo(["export", "otel", *rec.args, "--workflow", "order", "-o", str(out)], capsys)
    assert code == 0, err
    spans = []
    for line in out.read_bytes().splitlines():
        doc = orjson.loads(line)
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                spans += ss["spans"]
    assert len(spans) == len(rec.orders) + rec.records - rec.duplicates
    for s in spans:  # OTLP/JSON: hex ids and integer enums
        assert len(s["traceId"]) == 32 and int(s["traceId"], 16)
        assert len(s["spanId"]) == 16 and int(s["spanId"], 16)
        assert isinstance(s["kind"], int)
    assert sum(1 for s in spans if s["traceId"] == TRACE_ID) == 1 + len(rec.orders[TRACED_ORDER])


def test_endpoint_failures_are_one_line(built: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    rec = built
    with otlp_receiver() as rx:
        rx.status = 400
        code, _, err = run_choreo(["export", "otel", *rec.args, "--endpoint", rx.endpoint], capsys)
    assert code == 2
    assert "did not accept the traces" in err and len(err.strip().splitlines()) == 1
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = run_choreo(
        ["export", "otel", *rec.args, "--endpoint", f"http://127.0.0.1:{port}", "--timeout", "0.5"], capsys
    )
    assert code == 2
    assert "did not accept the traces" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_choreo(["export", "otel", *rec.args, "--endpoint", "localhost:4318"], capsys)
    assert code == 2 and "not an http(s) URL" in err
    code, _, err = run_choreo(["export", "otel", *rec.args, "--workflow", "nope"], capsys)
    assert code == 2 and "no workflow 'nope'" in err
