"""Hypothesis strategies for Kafka records as choreo meets them: payloads of
every shape, header sets, keys, dump lines of every format, ``[extract]``
options and time values.

They feed the differential corpus (``tests/data/native_reference``, the
outputs of the Python record path that the native core replaced) and the
fuzz tests that throw the same kind of input, and worse, at the native core.
Names are drawn from the conventions the extractor knows, so that the random
records exercise its rules rather than missing them all.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import strategies as st

# Names the extractor gives a role (headers, payload fields), plus id-like and
# neutral ones; the random records are built from these, so most of them hit a rule.
ROLE_HEADERS = (
    "correlation-id", "x-correlation-id", "correlationid", "correlation_id",
    "ce_type", "event-type", "x-event-type", "eventtype", "type",
    "ce_source", "service", "x-service", "source-service", "producer",
    "ce_id", "event-id", "x-event-id", "message-id", "messageid", "eventid",
    "causation-id", "x-causation-id", "causationid", "ce_causationid",
    "ce_time", "event-time", "traceparent", "ce_traceparent", "ce_subject", "ce_specversion",
    "x-tenant", "retry", "content-type",
)  # fmt: skip
FIELD_NAMES = (
    "type", "eventType", "event_type", "@type", "name",
    "source", "service", "producer", "emitter",
    "eventId", "event_id", "messageId", "message_id",
    "causationId", "causation_id", "causedBy", "caused_by",
    "correlationId", "correlation_id", "sagaId", "saga_id",
    "time", "timestamp", "@timestamp", "occurredAt", "occurred_at", "eventTime", "event_time",
    "metadata", "meta", "_meta", "data", "specversion", "traceparent", "id", "uuid",
    "orderId", "order_id", "customerID", "paymentUuid", "ship_uuid", "tracking-id", "userId",
    "order", "items", "amount", "currency", "status", "ref", "",
)  # fmt: skip
PATHS = (
    "order.id", "order.customer.ref", "data.shipmentId", "meta.at", "kind", "msgRef",
    "metadata.eventId", "items", "a.b.c.d", "orderId", "x..y", "time",
)  # fmt: skip
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _case_variants(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.upper(), name.title(), name.swapcase()])


header_names = st.one_of(
    st.sampled_from(ROLE_HEADERS).flatmap(_case_variants),
    st.text(max_size=12),
    st.sampled_from(["\u212aey", "\u0130d", "CORRELATION-\u0130D", "Σσς", "x-ÄÖÜ"]),
)
field_names = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10))

# Text that matters to the rules: ids, ISO times, traceparents, long and odd text.
iso_times = st.one_of(
    st.datetimes(timezones=st.timezones() | st.none()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(sep=" ", timespec="milliseconds") + "Z"),
    st.sampled_from(
        [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.250Z",
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T10:00:00.123456789Z",
            "2024-05-01 10:00:00Z",
            "2024-05-01",
            "20240501T100000Z",
            "2024-W18-3T10:00Z",
            "2024-05-01T10:00:00,5+0130",
            "2024-05-01T10Z",
            "2024-05-01T10:00-05",
            "2024-05-01T24:00:00Z",
            "2024-02-30T10:00:00Z",
            "2024-05-01T10:00:60Z",
            "2024-05-01t10:00:00z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59.999999-23:59",
            "2024-05-01T10:00:00+24:00",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00.1234567+00:00:30.5",
            " 2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00Z ",
            "2024-5-1T10:00:00Z",
            "1714557600",
            "",
        ]
    ),
    st.from_regex(
        r"\A[0-9]{4}-?[0-9W]{2}-?[0-9]{1,2}([T _][0-9]{2}(:?[0-9]{2}(:?[0-9]{2}([.,][0-9]{1,9})?)?)?)?"
        r"(Z|[+-][0-9]{2}(:?[0-9]{2}(:?[0-9]{2}(\.[0-9]{1,7})?)?)?)?\Z"
    ),
)
traceparents = st.one_of(
    st.just(f"00-{TRACE}-00f067aa0ba902b7-01"),
    st.just(f" 00-{TRACE.upper()}-x-y-z\u2003"),
    st.just("00-" + "0" * 32 + "-00f067aa0ba902b7-01"),
    st.builds(lambda a, b: f"{a}-{b}-c-d", st.text(max_size=3), st.text(min_size=30, max_size=34)),
    st.text(max_size=40),
)
id_text = st.one_of(
    st.from_regex(r"\A[a-z]{1,4}-[0-9a-f]{1,12}\Z"),
    st.text(max_size=20),
    st.text(min_size=250, max_size=260, alphabet="ab"),
    st.just(""),
)
texts = st.one_of(id_text, iso_times, traceparents, st.text(max_size=30))

big_ints = st.sampled_from(
    [
        0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 10**11, 10**11 + 1, 10**14, 10**14 + 1,
        1714557600, 1714557600123, 1714557600123456, 9_223_372_036_854_775, -9_300_000_000_000_000,
    ]
)  # fmt: skip
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e300, -1e300, 1e11, 1e14, 1.5e14, 1714557600.5, 1714557600123.9, -0.0, 1e16, 1e-7]),
)
# orjson writes 64-bit integers only (signed or unsigned).
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), big_ints, floats, texts)


def json_values(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(field_names, children, max_size=6),
        ),
        max_leaves=max_leaves,
    )


documents = st.dictionaries(field_names, json_values(), max_size=10)


def _structured_ce(doc: dict[str, Any], data: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "type": doc.get("type", "T"), **doc, "data": data}


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _with_duplicate_keys(doc: dict[str, Any], key: str, value: Any) -> bytes:
    body = orjson.dumps(doc)
    extra = orjson.dumps({key: value})[1:-1]
    if body == b"{}":
        return b"{" + extra + b"," + extra + b"}"
    return b"{" + extra + b"," + body[1:-1] + b"," + extra + b"}"


payload_bytes = st.one_of(
    documents.map(orjson.dumps),
    st.builds(_structured_ce, documents, json_values()).map(orjson.dumps),
    st.lists(json_values(8), max_size=3).map(orjson.dumps),
    documents.map(lambda d: json.dumps(d, indent=1, ensure_ascii=False).encode()),
    documents.map(lambda d: b" \t\r\n" + orjson.dumps(d) + b"\n "),
    documents.map(lambda d: b"\x0c" + orjson.dumps(d)),
    st.builds(_with_duplicate_keys, documents, field_names, json_values(4)),
    st.sampled_from(
        [
            b"",
            b"{",
            b"[1,",
            b"{}",
            b"[]",
            b"null",
            b'"text"',
            b"123",
            b"not json",
            b'{"a":1e400}',
            b'{"time":1e300}',
            b'{"time":-1e300}',
            b'{"time":-9300000000000000}',
            b'{"a":NaN}',
            b'{"a":"\\ud800"}',
            b'{"a":"\\udcff"}',
            b'{"orderId":99999999999999999999999}',
            b"\xef\xbb\xbf{}",
            b"\x00\x01\x02avro",
            b"\xff\xfe\xfd",
            b"caf\xc3\xa9",
            b"caf\xe9",
            b'{"orderId":"o-1"}\x00',
            b'{"orderId":"a\x01"}',
            b"\t\n",
            b"\x1f{}",
            _deep(1024),
            _deep(1025),
            b"[" * 1100,
        ]
    ),
    st.binary(max_size=40),
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.builds(lambda b, tail: orjson.dumps(b)[:-1] + tail, documents, st.binary(max_size=6)),
)
payloads = st.one_of(st.none(), payload_bytes)

header_values = st.one_of(
    st.none(),
    texts.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=12),
    st.sampled_from([b"", b"\xff\xfe", b"caf\xe9", f"00-{TRACE}-00f067aa0ba902b7-01".encode()]),
)
headers: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.just([]),
    st.lists(st.tuples(header_names, header_values), max_size=8),
)
keys = st.one_of(
    st.none(),
    st.just(b""),
    id_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=10),
    st.sampled_from([b"o-1\n", b"o 1", b"\xe2\x80\xa8x", "\u00e9\u0301".encode(), b"a" * 257]),
)
topics = st.one_of(st.sampled_from(["orders", "payments", "t"]), st.text(min_size=1, max_size=8))


def _source(kind: str, name: str) -> str:
    return kind if kind in ("key", "topic") else f"{kind}:{name}"


sources = st.one_of(
    st.builds(_source, st.just("header"), st.sampled_from(ROLE_HEADERS).flatmap(_case_variants)),
    st.builds(_source, st.just("payload"), st.sampled_from(PATHS + FIELD_NAMES[:30])),
    st.sampled_from(["key", "topic"]),
)
bad_sources = st.sampled_from(["bogus", "header:", "payload:", "key:x", "topic:y", "Header:x"])


@st.composite
def extract_configs(draw: st.DrawFn, allow_bad: bool = False) -> dict[str, Any]:
    """Keyword arguments of ExtractConfig; with ``allow_bad`` a source may be invalid."""
    src = st.one_of(sources, bad_sources) if allow_bad else sources
    cfg: dict[str, Any] = {}
    if draw(st.booleans()):
        return cfg
    if draw(st.booleans()):
        cfg["identifier_paths"] = draw(st.lists(st.sampled_from(PATHS + FIELD_NAMES[:30]), max_size=3))
    if draw(st.booleans()):
        cfg["identifier_headers"] = draw(
            st.lists(st.sampled_from(ROLE_HEADERS).flatmap(_case_variants) | header_names, max_size=3)
        )
    if draw(st.booleans()):
        cfg["key_is_identifier"] = draw(st.booleans())
    if draw(st.booleans()):
        cfg["auto_id_fields"] = draw(st.booleans())
    if draw(st.booleans()):
        cfg["max_depth"] = draw(st.integers(1, 16))
    for role in ("type_from", "service_from", "event_id_from", "causation_from", "time_from"):
        if draw(st.integers(0, 3)) == 0:
            cfg[role] = draw(st.lists(src, max_size=3))
    if draw(st.integers(0, 3)) == 0:
        cfg["ignore_identifiers"] = draw(
            st.lists(st.sampled_from(FIELD_NAMES[:30] + ROLE_HEADERS[:6] + ("key", "trace_id")), max_size=3)
        )
    return cfg


# -- dump lines -------------------------------------------------------------
def mostly(
    good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any], odds: int = 12
) -> st.SearchStrategy[Any]:
    """``good`` usually, ``odd`` one time in ``odds``: lines with one thing wrong, not everything."""
    return st.integers(0, odds - 1).flatmap(lambda i: odd if i == odds - 1 else good)


_RAW_BYTES = st.sampled_from([b"\xff", b"\xfe\xfd", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80abc"])


def _json_string(value: str) -> bytes:
    """A JSON string literal as kcat writes it: non-ASCII and undecodable bytes raw."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogateescape")


@st.composite
def raw_json_strings(draw: st.DrawFn) -> bytes:
    """A JSON string literal as kcat may write it: escapes, raw non-UTF-8 bytes, lone surrogate escapes."""
    parts = draw(
        st.lists(
            st.one_of(
                st.text(max_size=8).map(lambda s: _json_string(s)[1:-1]),
                _RAW_BYTES,
                st.sampled_from([b"\\u0000", b"\\ud800", b"\\udcff", b"\\ud83d\\ude00", b"\\/", b"\\n"]),
            ),
            max_size=5,
        )
    )
    return b'"' + b"".join(parts) + b'"'


def _envelope_value(v: Any) -> bytes:
    return v if isinstance(v, bytes) else orjson.dumps(v)


kcat_payload_fields = st.one_of(
    payload_bytes.map(lambda b: _json_string(b.decode("utf-8", "surrogateescape"))),
    raw_json_strings(),
    json_values(10).map(orjson.dumps),
    st.just(b"null"),
)
kcat_headers = st.one_of(
    st.lists(st.tuples(header_names, header_values), max_size=6).map(
        lambda hs: b"[" + b",".join(_json_string(n) + b"," + _raw_value(v) for n, v in hs) + b"]"
    ),
    st.dictionaries(header_names, st.lists(st.one_of(st.none(), texts), max_size=3)).map(orjson.dumps),
    st.dictionaries(header_names, st.one_of(st.none(), texts)).map(orjson.dumps),
    st.sampled_from([b'["a"]', b'[1,"x"]', b'["a",1]', b'{"a":[1]}', b'{"a":{"b":"c"}}', b'"h"', b"5"]),
    st.just(b"null"),
)


_BAD_HEADER_SHAPES = (b'["a"]', b'[1,"x"]', b'["a",1]', b'{"a":[1]}', b'{"a":{"b":"c"}}')


def _good_headers(raw: bytes) -> bool:
    return raw[:1] in (b"[", b"{") and raw not in _BAD_HEADER_SHAPES


def _raw_value(v: bytes | None) -> bytes:
    if v is None:
        return b"null"
    return _json_string(v.decode("utf-8", "surrogateescape"))


@st.composite
def kcat_lines(draw: st.DrawFn) -> bytes:
    """A kcat -C -J line: usually well formed, often with one field odd or missing."""
    fields: dict[str, bytes] = {}
    fields["topic"] = draw(
        mostly(
            topics.map(_json_string), st.one_of(raw_json_strings(), st.sampled_from([b'""', b"1", b"null"]))
        )
    )
    fields["partition"] = draw(mostly(st.integers(0, 5).map(orjson.dumps), _odd_ints))
    fields["offset"] = draw(mostly(st.integers(0, 10**6).map(orjson.dumps), _odd_ints))
    if draw(st.integers(0, 3)) != 3:
        fields["tstype"] = draw(
            mostly(
                st.sampled_from([b'"create"', b'"logappend"', b'"unknown"']),
                st.sampled_from([b'"other"', b"1", b"null", b'["x"]', b"1.5", b"{}"]),
            )
        )
        fields["ts"] = draw(mostly(st.integers(0, 2 * 10**12).map(orjson.dumps), _odd_ints))
    fields["broker"] = b"1"
    if draw(st.integers(0, 3)) != 3:
        fields["headers"] = draw(mostly(kcat_headers.filter(_good_headers), kcat_headers, 3))
    if draw(st.integers(0, 4)) != 4:
        fields["key"] = draw(st.one_of(keys.map(_raw_value), kcat_payload_fields))
    if draw(st.integers(0, 9)) != 9:
        fields["payload"] = draw(kcat_payload_fields)
    if draw(st.integers(0, 9)) == 9:
        fields[draw(st.sampled_from(["key_error", "payload_error"]))] = b'"deserialisation failed"'
    order = draw(st.permutations(list(fields)))
    body = b"{" + b",".join(_json_string(k) + b":" + fields[k] for k in order) + b"}"
    return draw(_line_damage(body))


_odd_ints = st.sampled_from(
    [
        b"-1", b"2147483648", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775807",
        b"-9223372036854775808", b"99999999999999999999999", b"1.0", b"1e3", b"true", b'"7"', b"null", b"NaN",
        b"-0", b"1e400", b"Infinity", b"-Infinity",
    ]
)  # fmt: skip


@st.composite
def _line_damage(draw: st.DrawFn, body: bytes) -> bytes:
    body = body.replace(b"\n", b" ")  # a line never holds a newline before its end
    how = draw(st.integers(0, 30)) - 24  # hypothesis leans to small draws: those leave the line whole
    if how == 0:
        body = body[: draw(st.integers(0, len(body)))]
    elif how == 1:
        body = b"  " + body + b" \r"
    elif how == 2:
        body = body + b" x"
    elif how == 3:
        body = b"[" + body + b"]"
    elif how == 4:
        body = body.replace(b",", b", ", 1).replace(b":", b" : ", 1)
    elif how == 5:
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=3)) + body[at:]
    elif how == 6:
        body = b"\xef\xbb\xbf" + body
    return body + draw(st.sampled_from([b"\n", b"\r\n", b""]))


def _b64_field(v: bytes | None) -> Any:
    import base64

    if v is None:
        return None
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(v).decode("ascii")}


_bad_b64 = st.sampled_from(
    [
        {"b64": "QQ"}, {"b64": "QQ="}, {"b64": "QQ=="}, {"b64": "QUJD="}, {"b64": "QUJDRA"}, {"b64": "Q"},
        {"b64": "QUJ@"}, {"b64": "QUJD===="}, {"b64": "\u00e9"}, {"b64": 5}, {"b64": "", "x": 1}, {}, 7,
        [1], {"b64": "QQ=\n"}, {"b64": ""}, {"b64": "QR=="}, {"b64": "QUI="},
    ]
)  # fmt: skip


@st.composite
def choreo_lines(draw: st.DrawFn) -> bytes:
    """A line of choreo's own JSONL (``choreo export events``), sometimes damaged."""
    obj: dict[str, Any] = {
        "choreo": draw(mostly(st.just(1), st.sampled_from([1.0, True, 2, "1", None, 0]))),
        "topic": draw(mostly(topics, st.sampled_from(["", 5, None]))),
        "partition": draw(mostly(st.integers(0, 5), st.sampled_from([-1, 2**31, 1.5, "0", None, False]))),
        "offset": draw(mostly(st.integers(0, 10**6), st.sampled_from([-1, 2**63 - 1, 2**63, None]))),
        "ts_ms": draw(mostly(st.none() | st.integers(-(2**63), 2**63), st.sampled_from([1.5, "1"]))),
        "ts_type": draw(mostly(st.integers(0, 2), st.sampled_from([3, -1, True, None, 1.0]))),
        "key": draw(mostly(keys.map(_b64_field), _bad_b64)),
        "headers": draw(
            mostly(
                st.lists(st.tuples(header_names, header_values), max_size=5).map(
                    lambda hs: [[n, _b64_field(v)] for n, v in hs]
                ),
                st.one_of(
                    st.lists(st.tuples(header_names, _bad_b64), max_size=2).map(
                        lambda hs: [list(h) for h in hs]
                    ),
                    st.sampled_from([None, [], "x", [["a"]], [["a", "b", "c"]], [[1, "x"]], [("a", None)]]),
                ),
            )
        ),
        "payload": draw(mostly(payloads.map(_b64_field), _bad_b64)),
    }
    if draw(st.integers(0, 7)) == 7:
        for name in draw(st.lists(st.sampled_from(list(obj)), max_size=2)):
            obj.pop(name, None)
    body = orjson.dumps(obj)
    return draw(_line_damage(body))


@st.composite
def plain_lines(draw: st.DrawFn) -> bytes:
    """A plain JSON line: an event without Kafka coordinates."""
    doc = draw(documents)
    if draw(st.booleans()):
        where = draw(st.sampled_from(["time", "timestamp", "@timestamp", "occurredAt", "meta", "ts"]))
        value = draw(st.one_of(iso_times, big_ints, floats, st.none(), json_values(3)))
        doc[where] = {"at": value, "occurredAt": value} if where == "meta" else value
    body = orjson.dumps(doc) if draw(st.integers(0, 5)) != 5 else draw(payload_bytes)
    return draw(_line_damage(body))


time_values = st.one_of(iso_times, big_ints, floats, st.booleans(), st.none(), st.text(max_size=5))
