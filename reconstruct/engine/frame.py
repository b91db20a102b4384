"""The working frame: the event log as compact numpy arrays.

Two scans of the store (events, identifiers) produce integer columns: event
types, services, topics and identifier names are dictionary-encoded, and
identifier values, event ids and causation ids are 64-bit hashes (DuckDB's
``hash``; a collision among the values of one log is astronomically
unlikely). Everything after this works on these arrays (numpy, scipy,
pyarrow's hash kernels), or hands them back to DuckDB as zero-copy Arrow
tables for grouped aggregation.

An event's position in the arrays (``eid``) is its id for one run.

Copies of one event are found as the frame is loaded (``dup_of``; the
twins among them are decided after stitching: ``copies.py``), and records
that are not events are marked (``aside``: ``aside.py``).

``scope`` (incremental updates) restricts the frame to the records listed in
that temporary relation ``(topic, partition, offset)``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from choreo.reconstruct.engine.arrays import arrow_u64, mix, np_chunks, np_view, query_arrow, register
from choreo.reconstruct.engine.aside import aside_sql, topic_shapes
from choreo.reconstruct.engine.copies import duplicates, originals
from choreo.reconstruct.engine.lookup import index_in

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BOOL = npt.NDArray[np.bool_]

# The array helpers are imported from here by most of the engine.
__all__ = [
    "Frame",
    "arrow_u64",
    "load_frame",
    "mix",
    "np_chunks",
    "np_view",
    "originals",
    "query_arrow",
    "register",
]


@dataclass
class Frame:
    n: int
    partition: npt.NDArray[np.int32]
    offset: I64
    h: U64  # hash(topic, partition, offset)
    ts: I64
    typ: I64  # code into types (sorted by name)
    types: list[str]
    svc: I64
    services: list[str]
    topic: I64
    topics: list[str]
    eid_h: U64  # hash(event id); meaningful where has_eid
    has_eid: BOOL
    cau_h: U64
    has_cau: BOOL
    dup_of: I64  # the original's eid for a duplicate (or a twin, still to be decided), else -1
    dup_prev: I64  # the copy before it (same content), else -1
    twin: BOOL  # a copy with its own timestamp within the redelivery window: decided after stitching
    aside: npt.NDArray[np.uint8]  # why it is not an event (ASIDE_REASONS), 0: an event
    cau_found: BOOL  # its causation id was found by value (``discover.py``), not stated
    # identifiers, one row per (event, name, value)
    id_eid: I64
    id_name: I64  # code into names (sorted)
    names: list[str]
    id_vh: U64  # hash(value)
    id_num: BOOL  # value is all digits
    id_value: pa.ChunkedArray  # the value text (for labels)

    @property
    def is_dup(self) -> BOOL:
        return self.dup_of >= 0

    @property
    def is_event(self) -> BOOL:
        out: BOOL = np.equal(self.aside, 0)
        return out

    def without_identifiers(self) -> Frame:
        """The same events without the identifier rows (the bulk of the frame),
        for the stages after stitching and labelling."""
        return replace(
            self,
            id_eid=np.zeros(0, dtype=np.int64),
            id_name=np.zeros(0, dtype=np.int64),
            id_vh=np.zeros(0, dtype=np.uint64),
            id_num=np.zeros(0, dtype=np.bool_),
            id_value=pa.chunked_array([], pa.string()),
        )

    def with_identifiers(self, rows: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> Frame:
        """The frame with more identifier rows (``h``: the record's coordinate
        hash, ``name``, ``value``, ``vh``: DuckDB's hash of the value), e.g.
        fields found by value. New names are appended to ``names``.
        ``con``: a connection for the lookup join."""
        if rows.num_rows == 0:
            return self
        eid = _event_of(self.h, np.asarray(np_chunks(rows.column("h")), dtype=np.uint64), con)
        keep = eid >= 0
        value = rows.column("value").filter(pa.array(keep))
        names = list(self.names)
        code = {n: i for i, n in enumerate(names)}
        raw = [str(n) for n in rows.column("name").filter(pa.array(keep)).to_pylist()]
        for n in dict.fromkeys(raw):
            code.setdefault(n, len(code))
            if len(names) < len(code):
                names.append(n)
        name = np.array([code[n] for n in raw], dtype=np.int64)
        vh = np.asarray(np_chunks(rows.column("vh").filter(pa.array(keep))), dtype=np.uint64)
        num = np.asarray(np_chunks(pc.ascii_is_decimal(value)), dtype=np.bool_)
        return replace(
            self,
            id_eid=np.concatenate([self.id_eid, eid[keep]]),
            id_name=np.concatenate([self.id_name, name]),
            names=names,
            id_vh=np.concatenate([self.id_vh, vh]),
            id_num=np.concatenate([self.id_num, num]),
            id_value=pa.chunked_array([*self.id_value.chunks, *value.chunks], pa.string()),
        )

    def with_causes(self, rows: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> Frame:
        """The frame with causation ids found by value (``h``: the record's
        coordinate hash, ``vh``: DuckDB's hash of the cause's event id), for
        the events that state none themselves. ``con``: a connection for the lookup join."""
        if rows.num_rows == 0:
            return self
        at, vh = self._unstated(rows, self.has_cau, con)
        cau_h, has_cau, found = self.cau_h.copy(), self.has_cau.copy(), self.cau_found.copy()
        cau_h[at] = vh
        has_cau[at] = True
        found[at] = True
        return replace(self, cau_h=cau_h, has_cau=has_cau, cau_found=found)

    def with_event_ids(self, rows: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> Frame:
        """The frame with event ids found by value (``h``: the record's
        coordinate hash, ``vh``: DuckDB's hash of its id), for the events that
        state none themselves: the causes other events name. Copies were told
        apart when the frame was loaded, by their content; this only lets
        causation ids find them."""
        if rows.num_rows == 0:
            return self
        at, vh = self._unstated(rows, self.has_eid, con)
        eid_h, has_eid = self.eid_h.copy(), self.has_eid.copy()
        eid_h[at] = vh
        has_eid[at] = True
        return replace(self, eid_h=eid_h, has_eid=has_eid)

    def _unstated(
        self, rows: pa.Table, stated: BOOL, con: duckdb.DuckDBPyConnection | None
    ) -> tuple[I64, U64]:
        """(event, value hash) of the rows (``h``, ``vh``) whose event is in
        the frame and does not state the value itself."""
        eid = _event_of(self.h, np.asarray(np_chunks(rows.column("h")), dtype=np.uint64), con)
        vh = np.asarray(np_chunks(rows.column("vh")), dtype=np.uint64)
        take = (eid >= 0) & ~stated[np.maximum(eid, 0)]
        return eid[take], vh[take]

    def coordinates(self, eids: I64) -> tuple[pa.Array, pa.Array, pa.Array]:
        """(topic, partition, offset) of these events; topics dictionary-encoded."""
        topic = pa.DictionaryArray.from_arrays(
            pa.array(self.topic[eids].astype(np.int32)), pa.array(self.topics, pa.string())
        )
        return topic, pa.array(self.partition[eids]), pa.array(self.offset[eids])


def _codes(arr: pa.ChunkedArray | pa.Array) -> tuple[I64, list[str]]:
    """Dictionary-encode strings; codes follow the sorted order of the names."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr)
    names = [str(x) for x in enc.dictionary.to_pylist()]
    order = np.argsort(np.array(names, dtype=object), kind="stable")
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names), dtype=np.int64)
    codes = np_view(enc.indices).astype(np.int64)
    return remap[codes] if len(names) else codes, [names[i] for i in order]


def _u64(col: pa.ChunkedArray) -> U64:
    return np.asarray(np_chunks(col), dtype=np.uint64)


def _np(col: pa.ChunkedArray, dtype: type) -> npt.NDArray[np.generic]:
    return np.asarray(np_chunks(col), dtype=dtype)


def _code(column: str, values: list[str]) -> str:
    """SQL: the position of ``column`` in ``values`` (sorted), from 0.

    ``list_position`` on a constant list is evaluated once per distinct value
    of a dictionary-compressed column: several times cheaper than an ENUM cast.
    """
    # The narrowest type: DuckDB's result buffers are fresh memory (numpy widens them once).
    width = "UTINYINT" if len(values) <= 255 else "USMALLINT" if len(values) <= 65535 else "INTEGER"
    if not values:
        return f"0::{width}"
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"(list_position([{items}], {column}) - 1)::{width}"


def _int_codes(col: pa.ChunkedArray) -> I64:
    return np.asarray(np_chunks(col), dtype=np.int64)


def _cursor_with_log_views(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A second connection to the same database, with this one's ``log_*`` views
    (temporary objects belong to one connection; attached shards are shared)."""
    cursor = con.cursor()
    for (sql,) in con.execute(
        "SELECT sql FROM duckdb_views() WHERE temporary AND view_name LIKE 'log\\_%' ESCAPE '\\'"
    ).fetchall():
        cursor.execute(str(sql))
    return cursor


@dataclass
class _Ids:
    names: list[str]  # sorted
    eid: I64
    name: I64  # code into names
    vh: U64
    num: BOOL
    value: pa.ChunkedArray


def _identifiers(
    con: duckdb.DuckDBPyConnection, scope: str, ev_h: Future[U64], *, close: bool = False
) -> _Ids:
    """The identifier rows as columns, each row's event found by its
    coordinates (``ev_h``: the events' coordinate hashes, which the caller
    works out meanwhile)."""
    try:
        rows = con.execute(f"SELECT DISTINCT i.name FROM log_identifiers i {scope}").fetchall()
        names = sorted({str(r[0]) for r in rows})
        ids = query_arrow(
            con,
            f"""
            SELECT hash(i.topic, i.partition, i."offset") AS h, {_code("i.name", names)} AS name,
                   hash(i.value) AS vh, i.value
            FROM log_identifiers i {scope}
            """,
        )
    finally:
        if close:
            con.close()
    name, vh, value = _int_codes(ids.column("name")), _u64(ids.column("vh")), ids.column("value")
    eid = _event_of(ev_h.result(), _u64(ids.column("h")))
    del ids
    if (eid < 0).any():  # identifiers of records outside the frame
        keep = eid >= 0
        eid, name, vh, value = eid[keep], name[keep], vh[keep], value.filter(pa.array(keep))
    num = np.asarray(np_chunks(pc.ascii_is_decimal(value)), dtype=np.bool_)
    return _Ids(names, eid, name, vh, num, value)


def load_frame(
    con: duckdb.DuckDBPyConnection, *, scope_relation: str | None = None, redelivery_window_ms: int = 900_000
) -> Frame:
    scoped = scope_relation is not None
    scope = f'SEMI JOIN {scope_relation} s USING (topic, partition, "offset")' if scoped else ""
    combos = con.execute(
        f"SELECT DISTINCT e.topic, e.event_type, e.service FROM log_events e {scope}"
    ).fetchall()
    counted = con.execute(f"SELECT count(*) FROM log_events e {scope} WHERE e.event_id IS NULL").fetchall()
    without_id = int(counted[0][0])
    topics = sorted({str(c[0]) for c in combos})
    types = sorted({str(c[1]) for c in combos})
    services = sorted({str(c[2]) for c in combos})
    shapes = topic_shapes(con, topics if scoped else None)
    # Strings stay in DuckDB: types, services, topics and names come back as
    # codes (positions in the sorted lists: computed in place, where a join
    # with a code table would reorder the rows), ids as 64-bit hashes.
    ev_h: Future[U64] = Future()
    ids_job = None
    if not scoped:  # (the scope is a temporary relation of this connection only)
        # The identifiers, the bulk of the log, are read and turned into
        # columns on a second connection while this one does the events
        # (DuckDB, pyarrow and numpy release the GIL).
        cursor = _cursor_with_log_views(con)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="choreo-load")
        ids_job = pool.submit(_identifiers, cursor, scope, ev_h, close=True)
        pool.shutdown(wait=False)
    try:
        ev = query_arrow(
            con,
            f"""
            SELECT hash(e.topic, e.partition, e."offset") AS h, {_code("e.topic", topics)} AS topic,
                   e.partition, e."offset", coalesce(e.ts_ms, e.event_time_ms, 0) AS ts,
                   {_code("e.event_type", types)} AS typ,
                   {_code("e.service", services)} AS svc,
                   coalesce(hash(e.event_id), 0) AS eid_h, e.event_id IS NOT NULL AS has_eid,
                   coalesce(hash(e.causation_id), 0) AS cau_h, e.causation_id IS NOT NULL AS has_cau,
                   {aside_sql(shapes)} AS aside
            FROM log_events e {scope}
            """,
        )
        h = _u64(ev.column("h"))
    except BaseException as exc:
        ev_h.set_exception(exc)  # (the identifier worker waits for it)
        raise
    ev_h.set_result(h)
    n = ev.num_rows
    typ = _int_codes(ev.column("typ"))
    eid_h = _u64(ev.column("eid_h"))
    has_eid = np.asarray(_np(ev.column("has_eid"), np.bool_), dtype=np.bool_)
    ts = np.asarray(_np(ev.column("ts"), np.int64), dtype=np.int64)
    # The same event twice: same type and event id, or (no event id) same type,
    # payload, key and identifiers.
    dkey = mix(eid_h, typ.astype(np.uint64))
    stamped = np.full(n, -1, dtype=np.int64)  # without an event id: its own time's resolution, ms (-1: none)
    ids = ids_job.result() if ids_job is not None else _identifiers(con, scope, ev_h)
    if without_id:
        # Events without an event id: the payload and key decide whether two of
        # them are the same event.
        # The event's own time (a payload field or a header such as ce_time) is
        # part of what it is: copies keep it, a repeat of the activity has its own.
        no_id = query_arrow(
            con,
            f"""
            SELECT hash(e.topic, e.partition, e."offset") AS h,
                   hash(e.event_type, e.payload, e.key, e.event_time_ms) AS dkey,
                   {_RESOLUTION_SQL} AS res
            FROM log_events e {scope} WHERE e.event_id IS NULL
            """,
        )
        rows = _event_of(h, _u64(no_id.column("h")))
        dkey[rows] = _u64(no_id.column("dkey"))
        stamped[rows] = np.asarray(_np(no_id.column("res"), np.int64), dtype=np.int64)
        dkey = _with_identifiers(dkey, ~has_eid, ids)
    # A record that is not an event is never the copy of one (a truncated copy
    # may keep its event id in a header): they are told apart before copies are.
    aside = np.asarray(np_chunks(ev.column("aside")), dtype=np.uint8)
    if aside.any():
        dkey = mix(dkey, (aside > 0).astype(np.uint64))
    position = (
        _int_codes(ev.column("topic")),
        np.asarray(_np(ev.column("partition"), np.int32), dtype=np.int32),
        np.asarray(_np(ev.column("offset"), np.int64), dtype=np.int64),
    )
    dup_prev, twin = duplicates(dkey, position, ts, ~has_eid, redelivery_window_ms, stamped)
    return Frame(
        n=n,
        partition=position[1],
        offset=position[2],
        h=h,
        ts=ts,
        typ=typ,
        types=types,
        svc=_int_codes(ev.column("svc")),
        services=services,
        topic=position[0],
        topics=topics,
        eid_h=eid_h,
        has_eid=has_eid,
        cau_h=_u64(ev.column("cau_h")),
        has_cau=np.asarray(_np(ev.column("has_cau"), np.bool_), dtype=np.bool_),
        dup_of=originals(dup_prev),
        dup_prev=dup_prev,
        twin=twin,
        aside=aside,
        cau_found=np.zeros(n, dtype=bool),
        id_eid=ids.eid,
        id_name=ids.name,
        names=ids.names,
        id_vh=ids.vh,
        id_num=ids.num,
        id_value=ids.value,
    )


# How finely an event's own time is given (a whole second, minute, hour or
# day: ms of uncertainty), -1 where it has none.
_RESOLUTION_SQL = """CASE WHEN e.event_time_ms IS NULL THEN -1
    WHEN e.event_time_ms % 1000 <> 0 THEN 0 WHEN e.event_time_ms % 60000 <> 0 THEN 999
    WHEN e.event_time_ms % 3600000 <> 0 THEN 59999 WHEN e.event_time_ms % 86400000 <> 0 THEN 3599999
    ELSE 86399999 END"""


def _event_of(ev_h: U64, row_h: U64, con: duckdb.DuckDBPyConnection | None = None) -> I64:
    """The event (position in ``ev_h``) of each row, by coordinate hash.

    Collectors and importers append a batch's identifiers in the order of
    its events, so the rows usually come as runs in event order: then a
    linear check suffices. Otherwise a hash lookup: DuckDB's join when
    ``con`` is given (rows extracted by a parallel query seldom keep the
    events' order, and one pyarrow hash table over millions of events costs
    several times more).
    """
    if row_h.size == 0:
        return np.zeros(0, dtype=np.int64)
    new_run = np.empty(row_h.size, dtype=bool)
    new_run[0] = True
    np.not_equal(row_h[1:], row_h[:-1], out=new_run[1:])
    runs = row_h[new_run]
    if runs.size == ev_h.size and np.array_equal(runs, ev_h):
        out = np.cumsum(new_run, dtype=np.int64)
        out -= 1
        return out
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.r_[starts, row_h.size])
    if con is not None:
        return index_in(con, row_h, ev_h)
    if runs.size < ev_h.size:
        has = np.flatnonzero(np_view(pc.is_in(arrow_u64(ev_h), value_set=arrow_u64(runs))))
        if has.size == runs.size and np.array_equal(ev_h[has], runs):
            return np.repeat(has.astype(np.int64), lengths)
    idx = pc.index_in(arrow_u64(row_h), value_set=arrow_u64(ev_h)).fill_null(-1)
    return np.asarray(np_view(idx), dtype=np.int64)


def _with_identifiers(dkey: U64, no_id: BOOL, ids: _Ids) -> U64:
    """Without an event id, the identifiers are part of what makes it the same event."""
    rows = no_id[ids.eid]
    acc = np.zeros(dkey.size, dtype=np.uint64)
    np.bitwise_xor.at(acc, ids.eid[rows], mix(ids.vh[rows], ids.name[rows].astype(np.uint64)))
    return np.where(no_id, mix(dkey, acc), dkey)
