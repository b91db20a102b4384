"""A dump taken by the real kcat binary imports to exactly what the live
collector stores from the same topics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KafkaTarget
from tests.support.collect_helpers import collect_until_idle, produce, settings
from tests.support.import_helpers import identifiers, kcat_dump, ok, records, require_kcat

pytestmark = pytest.mark.kafka

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _records(orders: str, payments: str) -> list[Any]:
    """(topic, key, value, headers) to produce; header values may be None."""
    out: list[Any] = []
    for i in range(40):
        order = f"o-{i}".encode()
        headers: list[tuple[str, bytes | None]] = [("correlation-id", order), ("traceparent", TRACEPARENT)]
        if i % 3 == 0:
            headers.append(("retry", b"1"))
            headers.append(("no-value", None))
            headers.append(("retry", b"2"))  # the same name twice, order kept
        key = None if i % 4 == 0 else order  # null keys
        out.append((orders, key, b'{"type":"OrderPlaced","orderId":"%s","n":%d}' % (order, i), headers))
        out.append((payments, key, b'{"type":"PaymentDone","orderId":"%s"}' % order, [("ce_source", b"pay")]))
    # Poison: binary (Avro-like, NUL and control bytes), non-UTF-8 text, empty, tombstone,
    # a binary header value, a UTF-8 key with non-ASCII letters.
    out.append(
        (orders, b"\x00\x01bin-key\xff", b"\x00\x02\x03avro\xff\xfe\x80\x00", [("bin", b"\xff\x00\x7f")])
    )
    out.append((orders, None, "caf\u00e9 ok".encode("latin-1"), None))
    out.append((orders, "k\u00e9y-\u2603".encode(), b"", [("empty", b"")]))
    out.append((payments, b"gone", None, None))
    out.append((payments, None, b'  {"type":"Spaced",\n "orderId":"o-1"}\t', [("x-correlation-id", b"o-1")]))
    return out


def test_kcat_dump_imports_to_what_collect_stores(kafka: KafkaTarget, tmp_path: Path) -> None:
    require_kcat()
    orders = kafka.create_topic("orders", 3)
    payments = kafka.create_topic("payments", 2)
    produce(kafka.bootstrap, _records(orders, payments))

    dump = kcat_dump(kafka.bootstrap, [orders, payments], tmp_path / "dump.json")
    imported = tmp_path / "imported.duckdb"
    run = ok("import", "--db", imported, dump)
    assert "85 records, 85 new" in run.out

    collected = tmp_path / "collected.duckdb"
    topics = f"{re.escape(kafka.prefix)}(orders|payments)"
    stats = collect_until_idle(
        settings(kafka.bootstrap, topics, f"{kafka.prefix}g", until_idle=1.0), collected
    )
    assert stats.consumed == 85

    got, want = records(imported), records(collected)
    assert len(got) == 85
    assert got == want
    assert identifiers(imported) == identifiers(collected)
    # The dump overlaps what the collector stored: nothing is stored twice.
    assert "85 records, 0 new, 85 already stored" in ok("import", "--db", collected, dump).out
    # The poison records came through byte-exact.
    payloads = {row[7] for row in got}
    assert b"\x00\x02\x03avro\xff\xfe\x80\x00" in payloads and "caf\u00e9 ok".encode("latin-1") in payloads
    assert {row[8] for row in got} >= {"binary", "invalid-utf8", "empty", "null", "json"}
