"""Records that exercise every extraction rule, for comparing the SQL path
with collector.extract.Extractor record by record."""

from __future__ import annotations

import json
from pathlib import Path

from collector.importers.kcat import KcatDecoder
from collector.importers.record import Record

ROOT = Path(__file__).resolve().parent.parent


def fixture_records() -> list[Record]:
    out: list[Record] = []
    for dump in sorted((ROOT / "fixtures").glob("*/dump.kcat.jsonl")):
        topic_prefix = dump.parent.name
        decoder = KcatDecoder()
        for line in dump.read_bytes().splitlines():
            rec = decoder.decode(line, 0)
            out.append((f"{topic_prefix}.{rec[0]}", *rec[1:]))
    return out


def _j(doc: object) -> bytes:
    return json.dumps(doc).encode()


# Payloads and headers chosen for the rules' edges; each is stored under
# several header sets and keys below.
PAYLOADS: list[bytes | None] = [
    _j({"type": "OrderCreated", "orderId": "o-1", "customerId": "c-1", "occurredAt": "2024-05-01T10:00:00Z"}),
    _j({"eventType": "X", "order": {"id": "o-2", "lines": [{"skuId": "s"}]}, "metadata": {"eventId": "e1"}}),
    _j({"type": "", "event_type": "Y", "source": "svc", "order_id": 42, "flag_id": True, "price_id": 1.5}),
    _j(
        {
            "specversion": "1.0",
            "type": "ce.T",
            "source": "/svc",
            "id": "ce-1",
            "data": {"id": "d-1", "orderId": "o-3"},
        }
    ),
    _j({"specversion": "1.0", "type": "ce.T", "source": "/svc", "id": "ce-2", "data": "text"}),
    _j({"id": "top", "uuid": "u-1", "a": {"b": {"c": {"d": {"e": {"deepId": "too-deep"}}}}, "bId": "b-1"}}),
    _j(
        {
            "meta": {"type": "FromMeta", "correlationId": "corr-m", "time": 1714550400},
            "correlationId": "corr-b",
        }
    ),
    _j({"_meta": {"source": "m-svc"}, "timestamp": 1714550400123, "sagaId": ["not", "scalar"]}),
    _j(
        {
            "type": {"nested": 1},
            "service": 7,
            "eventId": 12,
            "causationId": "cause-1",
            "time": 1714550400123456,
        }
    ),
    _j(
        {
            "type": "T",
            "time": "2024-05-01T10:00:00.123+02:00",
            "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01",
        }
    ),
    _j({"type": "T", "time": "2024-05-01 10:00:00", "long_id": "x" * 300, "empty_id": "", "nullId": None}),
    _j({"type": "T", "time": "not a time", "userId": "ü-ñ", "x-id": "dash"}),
    _j({"type": "T", "orderId": "o-4", "orderId2": {"orderId": "inner"}, "ID": "upper"}),
    _j(
        {
            "meta": {"kind": "K"},
            "origin": {"name": "o"},
            "msg": {"id": "m1", "parent": "p1"},
            "at": "2024-05-01T10:00:00Z",
            "order": {"number": 77},
            "refs": {"shipment": "sh-1"},
            "customerId": "c-9",
        }
    ),
    _j(
        {
            "msg": {"id": "", "parent": None},
            "at": 1714550400,
            "origin": {"name": {"x": 1}},
            "order": {"number": "n-1"},
        }
    ),
    b'{"type": "Dup", "orderId": "first", "orderId": "second"}',
    b'  {"type": "Spaced", "orderId": "o-5"}',
    b'[{"type": "Array"}]',
    b'{"type": "Escaped \\u00e9", "orderId": "o-\\u0036"}',
    b'{"type": "Big", "orderId": 123456789012345678901234567890}',
    b'{"type": "Neg", "orderId": -5, "zeroId": 0}',
    b'{"broken": ',
    b"plain text payload",
    b"\x00\x01binary",
    b"\xff\xfe not utf8",
    b"",
    None,
]

HEADER_SETS: list[list[tuple[str, bytes | None]] | None] = [
    None,
    [
        ("correlation-id", b"corr-1"),
        ("traceparent", b"00-" + b"12" * 16 + b"-" + b"34" * 8 + b"-01"),
        ("event-type", b"HdrType"),
    ],
    [
        ("ce_type", b"ce.HType"),
        ("ce_source", b"/h"),
        ("ce_id", b"hid"),
        ("ce_subject", b"subj"),
        ("ce_time", b"2024-05-01T00:00:00Z"),
    ],
    [("X-Correlation-ID", b"CaseCorr"), ("causation-id", b"cause-h"), ("traceparent", b"bogus")],
    [("correlation-id", None), ("correlation-id", b"second-wins"), ("event-type", b"")],
    [("Event-Type", b"a"), ("event-type", b"b")],
    [("correlation-id", b"\xff\xfe"), ("service", b"svc-h")],
    [("x-kind", b"HK"), ("caused-by", b"cb"), ("X-Tenant", b"t-1"), ("x-tenant", b"t-2")],
    [("traceparent", b"00-" + b"0" * 32 + b"-" + b"34" * 8 + b"-01"), ("message-id", b"m" * 300)],
]

KEYS: list[bytes | None] = [None, b"o-key", b"", b"\xff", b"tab\tkey", b"k" * 300, "ünï".encode()]


def edge_records() -> list[Record]:
    out: list[Record] = []
    n = 0
    for i, payload in enumerate(PAYLOADS):
        for j, headers in enumerate(HEADER_SETS):
            key = KEYS[(i + j) % len(KEYS)]
            out.append((f"edge-{j % 3}", i % 4, n, 1_714_550_400_000 + n, 1, key, headers, payload))
            n += 1
    return out
