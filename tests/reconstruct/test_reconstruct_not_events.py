"""Records that are not events (tombstones, empty or unparseable payloads,
JSON without an event type) never join an instance; they are listed beside
the instance whose key they carry. Swept over generated logs."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.engine_logs import T0, Log, Truth, derive, order

_KINDS = ("tombstone", "empty", "text", "binary", "invalid-utf8", "untyped", "truncated")
_PAYLOAD: dict[str, bytes | None] = {
    "tombstone": None,
    "empty": b"",
    "text": b"WARN payment gateway timeout, retrying",
    "binary": b"\x00\x00\x00\x01\x2a\x02\x0cabc\x01\x02",
    "invalid-utf8": "caf\u00e9 cr\u00e8me".encode("latin-1"),
}

poison = st.tuples(
    st.sampled_from(_KINDS),
    st.one_of(st.none(), st.integers(0, 7)),
    st.sampled_from(("orders", "payments", "parcels")),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 8), noise=st.lists(poison, max_size=12), opaque_topic=st.booleans())
def test_not_events_stay_beside_their_instance(
    n: int, noise: list[tuple[str, int | None, str]], opaque_topic: bool
) -> None:
    log, truth = Log(), Truth()
    last = T0
    for i in range(n):
        coords = order(log, truth, i, T0 + i * 10_000)
        last = max(last, T0 + i * 10_000 + 1_000)
        if opaque_topic:
            # A topic whose records are all binary (its format, e.g. Avro): events typed by their topic.
            truth.add(
                f"ord-{i:04d}",
                log.add("ledger", T0 + i * 10_000 + 50, _PAYLOAD["binary"], key=f"ord-{i:04d}"),
            )
        del coords
    # Noise is a minority on its topic (else it is the topic's format): JSON
    # without a type among JSON records, unparseable ones among all with content.
    typed = {"orders": 2 * n, "payments": n, "parcels": 2 * n}
    untyped = dict.fromkeys(typed, 0)
    opaque = dict.fromkeys(typed, 0)
    for j, (kind, who, topic) in enumerate(noise):
        if kind == "untyped":
            if untyped[topic] + 1 >= typed[topic]:
                continue
            untyped[topic] += 1
        elif kind in ("text", "binary", "invalid-utf8", "truncated"):
            if opaque[topic] + 1 >= typed[topic] + untyped[topic]:
                continue
            opaque[topic] += 1
        key = None if who is None or who >= n else f"ord-{who:04d}"
        at = last + 1_000 * (j + 1)
        if kind == "untyped":
            body: bytes | None = orjson.dumps({"orderId": key, "status": "ok"} if key else {"status": "ok"})
        elif kind == "truncated":
            body = orjson.dumps({"type": "PaymentTaken", "orderId": key or "x", "eventId": f"e{j}"})[:25]
        else:
            body = _PAYLOAD[kind]
        coord = log.add(topic, at, body, key=key)
        truth.not_events[coord] = key
    d = derive(log, now_ms=last + 3_600_000)
    # Every true instance held exactly, with no record that is not an event.
    exact = d.exact(truth)
    assert all(v is not None for v in exact.values()), exact
    # Every record that is not an event is listed, beside the instance whose key it carries.
    assert set(d.not_events) == set(truth.not_events)
    for coord, key in truth.not_events.items():
        assert d.not_events[coord] == (exact[key] if key else None), (coord, key)
