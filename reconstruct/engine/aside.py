"""Records that are not events: tombstones, empty payloads, payloads that
are not JSON (a truncated document, a log line, binary, invalid UTF-8) on a
topic whose records are mostly JSON, and JSON without an event type (its
type fell back to the topic) on a topic whose records mostly state one. A
topic whose records are mostly not JSON (Avro, protobuf) is its format: its
records are events typed by the topic. Such records never join an instance
or the model; each is listed beside the instance whose value (usually the
record key) it carries."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt

from choreo.reconstruct.engine.lookup import index_in

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

# Why a record is not an event (``Frame.aside``); 0 is an event.
ASIDE_REASONS: dict[int, str] = {
    1: "tombstone",
    2: "empty payload",
    3: "not JSON (text)",
    4: "not JSON (binary)",
    5: "invalid UTF-8",
    6: "no event type",
}
_OPAQUE = ("text", "binary", "invalid-utf8")
# A topic's regular records: what most of them are.
_MOSTLY = 0.5


@dataclass(frozen=True)
class TopicShapes:
    """Per topic, what its regular records are (over the whole log, so that a
    scoped frame classifies a record as a rebuild does)."""

    typed: list[str]  # topics whose records mostly state their event type
    opaque: list[str]  # topics whose records are mostly not JSON (their format, not poison)


def topic_shapes(con: duckdb.DuckDBPyConnection, topics: list[str] | None = None) -> TopicShapes:
    where = ""
    if topics is not None:
        if not topics:
            return TopicShapes([], [])
        where = "WHERE list_contains(?, topic)"
    rows = con.execute(
        f"""
        SELECT topic, count(*) FILTER (WHERE payload_kind = 'json'),
               count(*) FILTER (WHERE payload_kind = 'json' AND event_type <> topic),
               count(*) FILTER (WHERE list_contains({list(_OPAQUE)}, payload_kind))
        FROM log_events {where} GROUP BY topic
        """,
        [topics] if topics is not None else None,
    ).fetchall()
    # Shares among the records that have content (tombstones and empty ones say nothing of a topic's format).
    typed = sorted(str(t) for t, js, ty, _op in rows if ty > _MOSTLY * js)
    opaque = sorted(str(t) for t, js, _ty, op in rows if op > _MOSTLY * (js + op))
    return TopicShapes(typed, opaque)


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::VARCHAR[]"


def aside_sql(shapes: TopicShapes) -> str:
    return f"""CASE
        WHEN e.payload_kind = 'null' THEN 1
        WHEN e.payload_kind = 'empty' THEN 2
        WHEN list_contains({list(_OPAQUE)}, e.payload_kind)
             AND NOT list_contains({_sql_list(shapes.opaque)}, e.topic)
            THEN CASE e.payload_kind WHEN 'text' THEN 3 WHEN 'binary' THEN 4 ELSE 5 END
        WHEN e.payload_kind = 'json' AND e.event_type = e.topic
             AND list_contains({_sql_list(shapes.typed)}, e.topic) THEN 6
        ELSE 0 END::UTINYINT"""


def aside_instances(comp: I64, eid: I64, link: U64, aside_eid: I64, aside_link: U64) -> tuple[I64, I64]:
    """Each record that is not an event but carries a stitching value, and the
    instance number of the events carrying that value (the first it matches)."""
    if aside_eid.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    pos = index_in(None, aside_link, link)
    hit = pos >= 0
    rec, inst = aside_eid[hit], comp[eid[pos[hit]]]
    rec, first = np.unique(rec, return_index=True)
    return rec, inst[first]
