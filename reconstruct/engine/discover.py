"""Correlation discovery by value: fields that link because of what they
carry, whatever they are called.

1. Numeric namespaces. A numeric value links only within its namespace
   (``values.py``). Two numeric link names share one when most sampled
   values of one are values of the other *and* the events carrying the same
   number are close in time (closer, nearly always, than to events carrying
   another shared number): a record key ``20000495`` on one topic and
   ``claim_id=20000495`` on another are the same claim; order 42 and
   refund 42, numbered apart, are not.
2. Payload fields. Events' JSON fields that are not identifiers by name
   (``orderRef``, ``reference``, ``order_no``, ``parcel.ref``) are sampled
   per event type; a field most of whose values are identifier values of
   *other* events, again close in time, becomes an identifier of that type
   (found by value), extracted from every event of the type. Numbers must
   also be close in time, as above (a total of 652 is not parcel 652); a
   text value shared is evidence enough unless time says the opposite (its
   own events farther than others', more often than by chance). A field whose value the event already carries
   as an identifier adds nothing and is left out; so is a value shared by
   everything (a status, a currency), which matches no identifier.

Time is compared value by value, not by a ratio of typical distances: each
sampled value's distance to the nearest event carrying it (*near*) against
its distance to the nearest event carrying another sampled value (*far*, a
random pairing). Nearest events, not spans: an instance that lasts hours
spans most others in a log of ten. For a coincidence, near and far are
alike: about a tenth of the nears fall below the lowest tenth of the fars.
A real link puts many more there, even when only some of its values meet
across a fast step (the others across steps of hours, which time cannot
tell from chance): that excess, well beyond a coin's, is what "close in
time" means for numbers. Text needs only that its own events are not
farther than others' more often than by chance.

3. Event ids. A field of a type whose events state no event id, one value
   per record, whose values other events state as their causation id (and
   that is no other event's id), is the event's own id: a payload ``id``
   beside the ``type``. Causation ids then find their event.

What is found is an identifier like any other afterwards: the trap rule
judges it (a ``customerRef`` matching customer ids is found, then ruled a
trap), and ``choreo keys`` shows it with its evidence.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from choreo.reconstruct.engine.frame import Frame, arrow_u64, mix, np_chunks, np_view, query_arrow, register

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

_SAMPLE = 2_000  # values per name compared
_MIN_SHARED = 3  # shared values needed to tell anything
_MATCH_SHARE = 0.5  # of a name's (field's) sampled values found among the other's
_ID_MATCH_SHARE = 0.3  # of a field's sampled values named as a cause by other events: its event id
_UNIQUE = 0.98  # distinct values per sampled record, at least, of an event id
_LOW = 0.1  # the low tail of the far distances a near one is counted in
_EXCESS = 2.0  # ... at least this many times as often as chance would put it there
_Z = 3.0  # ... and this many standard deviations above chance
_EVENTS_PER_TYPE = 300  # payloads sampled per event type
_MAX_DEPTH = 3
_WINDOWS = 12  # time windows a common type's sample is taken from
_TIMES = 32  # a value's earliest events whose times are compared

# The smallest distance between two lists of times.
_NEAREST = "list_min(list_transform({a}, lambda t: list_min(list_transform({b}, lambda u: abs(t - u)))))"


@dataclass(frozen=True)
class Found:
    """A payload field found to carry identifier values (or, ``kind``
    causation, the event ids of other events: its cause; ``kind`` event id,
    the causation ids other events state: its own id)."""

    name: str  # its dotted path, as identifiers are named ("parcel.ref", "data.claimNumber")
    types: list[str]  # the event types it was found on
    matches: str  # the identifier name whose values it carries most ("event id" for a cause)
    share: float  # of its sampled values found among identifier values (event ids)
    kind: str = "identifier"  # identifier | causation | event id


def numeric_namespaces(
    con: duckdb.DuckDBPyConnection, f: Frame, code: npt.NDArray[np.integer], names: list[str]
) -> dict[str, str]:
    """Numeric link name -> the name whose namespace it shares (the most
    common name of its group), for the groups found by value."""
    rows = np.flatnonzero(f.id_num & (~f.is_dup & f.is_event)[f.id_eid])
    if rows.size == 0:
        return {}
    pairs = _close_pairs(con, code[rows].astype(np.int64), f.id_vh[rows], f.ts[f.id_eid[rows]])
    if not pairs:
        return {}
    # Union the names linked, transitively.
    parent = {c: c for pair in pairs for c in pair}

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for a, b in pairs:
        parent[root(a)] = root(b)
    size = np.bincount(code[rows].astype(np.int64), minlength=len(names))
    groups: dict[int, list[int]] = {}
    for c in parent:
        groups.setdefault(root(c), []).append(c)
    out: dict[str, str] = {}
    for members in groups.values():
        head = max(members, key=lambda c: (int(size[c]), names[c]))
        for c in members:
            out[names[c]] = names[head]
    return out


def _close_pairs(con: duckdb.DuckDBPyConnection, code: I64, vh: U64, ts: I64) -> list[tuple[int, int]]:
    """(a, b) name codes where most sampled values of a are values of b, carried close in time."""
    register(con, "_r_num", pa.table({"code": code, "vh": arrow_u64(vh), "ts": ts}))
    try:
        rows = con.execute(
            f"""
            WITH v AS (
                SELECT code, vh, list(ts ORDER BY ts)[1:{_TIMES}] AS ts FROM _r_num GROUP BY code, vh
            ),
            sizes AS (SELECT code, greatest(1, count(*) // {_SAMPLE}) AS m FROM v GROUP BY code),
            a AS (SELECT v.* FROM v JOIN sizes s USING (code) WHERE v.vh % s.m = 0),
            shared AS (
                SELECT a.code AS ca, b.code AS cb, a.vh, a.ts AS ats, b.ts AS bts,
                       row_number() OVER (PARTITION BY a.code, b.code ORDER BY hash(a.vh)) AS r,
                       count(*) OVER (PARTITION BY a.code, b.code) AS n
                FROM a JOIN v b ON b.vh = a.vh AND b.code <> a.code
            ),
            -- How near the events carrying one number under the two names are, and
            -- the same for each number against another (a random pairing).
            d AS (
                SELECT x.ca, x.cb,
                       {_NEAREST.format(a="x.ats", b="x.bts")} AS near,
                       {_NEAREST.format(a="x.ats", b="y.bts")} AS far
                FROM shared x JOIN shared y ON y.ca = x.ca AND y.cb = x.cb AND y.r = (x.r % x.n) + 1
            ),
            q AS (SELECT ca, cb, quantile_disc(far, {_LOW}) AS q FROM d GROUP BY ALL),
            spread AS (
                SELECT ca, cb, count_if(d.near < q.q) AS low, count(*) AS n
                FROM d JOIN q USING (ca, cb) GROUP BY ALL
            )
            SELECT s.ca, s.cb, count(*) AS shared, any_value(z.sampled) AS sampled,
                   any_value(p.low) AS low, any_value(p.n) AS n
            FROM shared s
            JOIN (SELECT code, count(*) AS sampled FROM a GROUP BY code) z ON z.code = s.ca
            JOIN spread p USING (ca, cb)
            GROUP BY s.ca, s.cb
            """
        ).fetchall()
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("_r_num")
    out = []
    for ca, cb, shared, sampled, low, n in rows:
        if shared < _MIN_SHARED or shared < _MATCH_SHARE * sampled:
            continue
        if not _close(int(low), int(n)):
            continue
        out.append((int(ca), int(cb)))
    return out


def _close(low: int, n: int) -> bool:
    """Time says the same value means the same thing: ``low`` of ``n`` near
    distances fell below the lowest tenth of the far ones, well beyond chance
    (when everything is equally near, time tells nothing: not close)."""
    chance = _LOW * n
    return n > 0 and low >= _EXCESS * chance and low - chance >= _Z * math.sqrt(chance * (1 - _LOW))


def _not_far(wins: int, losses: int) -> bool:
    """Time does not say the value means something else: its own events were
    not farther than another value's more often than a coin would give. (A
    text value shared is evidence enough; a step slower than the log is
    long, or a log of overlapping cases, leaves time undecided, which is not
    against it. What a shared value would wrongly merge, the trap rule sees.)"""
    decided = wins + losses
    return losses - wins < _Z * math.sqrt(decided)


# Ties between link names broken by the lower name code, never by the order
# DuckDB's threads happen to meet the rows in (it varied from run to run).
_TIE = 1 << 20


def payload_fields(
    con: duckdb.DuckDBPyConnection, f: Frame, names: list[str], code: npt.NDArray[np.integer]
) -> list[Found]:
    """Payload fields (not identifiers by name) whose values are identifier values of other events."""
    if f.n == 0 or f.id_eid.size == 0:
        return []
    fields = _sampled_fields(con, f)
    if fields.num_rows == 0:
        return []
    # A field repeating one of the event's own identifier values adds nothing.
    fh = np.asarray(np_chunks(fields.column("h")), dtype=np.uint64)
    # The sampled records' events (each hash's first): a small set probed with
    # every event, not a table of every event probed with the sample.
    hits = np.flatnonzero(np_view(pc.is_in(arrow_u64(f.h), value_set=arrow_u64(np.unique(fh)))))
    is_sampled = np.zeros(f.n, dtype=bool)
    is_sampled[hits[np.unique(f.h[hits], return_index=True)[1]]] = True
    own_rows = np.flatnonzero(is_sampled[f.id_eid])
    own = mix(f.h[f.id_eid[own_rows]], f.id_vh[own_rows])
    fvh = np.asarray(np_chunks(fields.column("vh")), dtype=np.uint64)
    fresh = ~np.asarray(np_chunks(pc.is_in(arrow_u64(mix(fh, fvh)), value_set=arrow_u64(own))), dtype=bool)
    fields = fields.filter(pa.array(fresh))
    if fields.num_rows == 0:
        return []
    causes = _causation_fields(con, f, fields)
    carriers = _carriers(con, f, code, np.unique(fvh[fresh]))
    register(con, "_r_found_src", fields)
    register(con, "_r_found_ids", carriers)
    try:
        rows = con.execute(
            f"""
            WITH c AS (SELECT * FROM _r_found_src),
            span AS (
                SELECT vh, list_sort(flatten(list(ts)))[1:{_TIMES}] AS times,
                       arg_max(code, n * {_TIE} - code) AS code FROM (
                    SELECT vh, code, count(*) AS n, list(ts ORDER BY ts)[1:{_TIMES}] AS ts
                    FROM _r_found_ids GROUP BY ALL
                ) GROUP BY vh
            ),
            m AS (
                SELECT c.typ, c.path, c.vh, c.num, c.ts, p.times, p.code,
                       row_number() OVER (PARTITION BY c.typ, c.path ORDER BY hash(c.vh, c.h)) AS r,
                       count(*) OVER (PARTITION BY c.typ, c.path) AS n
                FROM c JOIN span p USING (vh)  -- (other events: the record's own values were left out)
            ),
            -- How near the record is to the other events carrying its value, and to
            -- those carrying another matched value (a random pairing).
            d AS (
                SELECT x.typ, x.path, x.num,
                       {_NEAREST.format(a="[x.ts]", b="x.times")} AS near,
                       {_NEAREST.format(a="[x.ts]", b="y.times")} AS far
                FROM m x JOIN m y ON y.typ = x.typ AND y.path = x.path AND y.r = (x.r % x.n) + 1
            ),
            q AS (SELECT typ, path, quantile_disc(far, {_LOW}) AS q FROM d GROUP BY ALL),
            spread AS (
                SELECT typ, path, count_if(d.near < d.far) AS wins, count_if(d.near > d.far) AS losses,
                       count_if(d.near < q.q) AS low, count(*) AS n, bool_and(d.num) AS num
                FROM d JOIN q USING (typ, path) GROUP BY ALL
            ),
            best AS (
                SELECT typ, path, arg_max(code, k * {_TIE} - code) AS code FROM (
                    SELECT typ, path, code, count(*) AS k FROM m GROUP BY ALL
                ) GROUP BY ALL
            ),
            matched AS (SELECT typ, path, count(DISTINCT vh) AS n FROM m GROUP BY ALL),
            total AS (SELECT typ, path, count(DISTINCT vh) AS n FROM c GROUP BY ALL)
            SELECT b.typ, b.path, b.code, x.n, t.n, s.wins, s.losses, s.low, s.n, s.num
            FROM best b JOIN matched x USING (typ, path) JOIN total t USING (typ, path)
            JOIN spread s USING (typ, path)
            """
        ).fetchall()
    finally:
        for t in ("_r_found_src", "_r_found_ids"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(t)
    by_path: dict[str, tuple[list[str], str, float]] = {}
    # A field found on several types matches the identifier of the type where
    # most of its values were found (ties: by type name), whatever order the
    # rows come in.
    rows.sort(key=lambda r: (str(r[1]), -float(r[3]) / max(float(r[4]), 1.0), str(r[0])))
    for typ, path, c, matched, n, wins, losses, low, pairs, num in rows:
        if matched < _MIN_SHARED or matched < _MATCH_SHARE * n:
            continue
        # Numbers collide by chance (a total, a count): only time tells a link; text rarely does.
        if not (_close(int(low), int(pairs)) if num else _not_far(int(wins), int(losses))):
            continue
        types, match, share = by_path.get(str(path), ([], names[int(c)], 0.0))
        by_path[str(path)] = ([*types, str(typ)], match, max(share, float(matched) / float(n)))
    # A field carrying other events' ids is their cause, even where those ids are identifiers too.
    cause_paths = {c.name for c in causes}
    found = [Found(p, sorted(t), m, sh) for p, (t, m, sh) in sorted(by_path.items()) if p not in cause_paths]
    own_ids = [fd for fd in _event_id_fields(con, f, fields) if fd.name not in cause_paths]
    return found + causes + own_ids


def _causation_fields(con: duckdb.DuckDBPyConnection, f: Frame, fields: pa.Table) -> list[Found]:
    """Fields most of whose values are the event ids of other events: causation ids under a name
    nobody told us (``causationid``, ``triggeredBy``)."""
    with_id = np.flatnonzero(f.has_eid & f.is_event & ~f.is_dup)
    if with_id.size == 0:
        return []
    rows = _query_with(
        con,
        """
        WITH m AS (
            SELECT c.typ, c.path, count(DISTINCT c.vh) AS n FROM _r_cause_src c
            JOIN _r_event_ids e ON e.vh = c.vh AND e.h <> c.h GROUP BY ALL
        ),
        t AS (SELECT typ, path, count(DISTINCT vh) AS n FROM _r_cause_src GROUP BY ALL)
        SELECT m.typ, m.path, m.n, t.n FROM m JOIN t USING (typ, path)
        """,
        _r_cause_src=fields,
        _r_event_ids=_hashes(f.eid_h[with_id], f.h[with_id]),
    )
    kept = [(typ, path, matched / n) for typ, path, matched, n in rows if _matched(matched, n, _MATCH_SHARE)]
    return _by_path(kept, "event id", "causation")


def _event_id_fields(con: duckdb.DuckDBPyConnection, f: Frame, fields: pa.Table) -> list[Found]:
    """Fields of types that state no event id, whose values are the causation
    ids other events state: the event's own id under a name nobody told us (a
    payload ``id`` beside its ``type``). One value per record (an event id is
    its event's alone), and never the event id of another event (then it
    names a cause: ``_causation_fields``)."""
    ok = f.is_event & ~f.is_dup
    stated = np.flatnonzero(ok & f.has_cau & ~f.cau_found)
    if stated.size == 0:
        return []
    per_type = np.bincount(f.typ[ok], minlength=len(f.types))
    with_id = np.bincount(f.typ[ok & f.has_eid], minlength=len(f.types))
    bare = [f.types[t] for t in np.flatnonzero((per_type > 0) & (with_id < _MATCH_SHARE * per_type))]
    if not bare:
        return []
    ids = np.flatnonzero(ok & f.has_eid)
    rows = _query_with(
        con,
        """
        WITH m AS (
            SELECT c.typ, c.path, count(DISTINCT c.vh) AS n FROM _r_eid_src c
            JOIN _r_cause_ids e ON e.vh = c.vh AND e.h <> c.h GROUP BY ALL
        ),
        o AS (
            SELECT c.typ, c.path, count(DISTINCT c.vh) AS n FROM _r_eid_src c
            JOIN _r_event_ids e ON e.vh = c.vh AND e.h <> c.h GROUP BY ALL
        ),
        t AS (
            SELECT typ, path, count(DISTINCT vh) AS n, count(DISTINCT h) AS recs
            FROM _r_eid_src GROUP BY ALL
        )
        SELECT m.typ, m.path, m.n, t.n, t.recs, coalesce(o.n, 0)
        FROM m JOIN t USING (typ, path) LEFT JOIN o USING (typ, path)
        """,
        _r_eid_src=fields.filter(pc.is_in(fields.column("typ"), value_set=pa.array(bare))),
        _r_cause_ids=_hashes(f.cau_h[stated], f.h[stated]),
        _r_event_ids=_hashes(f.eid_h[ids], f.h[ids]),
    )
    # Not every event's effect states its cause: a third of the values named
    # as a cause is plenty for a value that is its record's alone.
    kept = [
        (typ, path, matched / n)
        for typ, path, matched, n, recs, elsewhere in rows
        if _matched(matched, n, _ID_MATCH_SHARE) and n >= _UNIQUE * recs and not elsewhere
    ]
    return _by_path(kept, "causation id", "event id")


def _hashes(vh: U64, h: U64) -> pa.Table:
    return pa.table({"vh": arrow_u64(vh), "h": arrow_u64(h)})


def _query_with(con: duckdb.DuckDBPyConnection, sql: str, **tables: pa.Table) -> list[tuple[Any, ...]]:
    """``sql``'s rows, with these Arrow tables registered under their names for it."""
    try:
        for name, table in tables.items():
            register(con, name, table)
        return con.execute(sql).fetchall()
    finally:
        for name in tables:
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)


def _matched(matched: int, n: int, share: float) -> bool:
    """Enough of a field's sampled values (``n``) were found (``matched``) to tell."""
    return matched >= _MIN_SHARED and matched >= share * n


def _by_path(kept: list[tuple[str, str, float]], matches: str, kind: str) -> list[Found]:
    """One ``Found`` per field path, with the types it was found on and its best share."""
    by_path: dict[str, tuple[list[str], float]] = {}
    for typ, path, share in kept:
        types, best = by_path.get(str(path), ([], 0.0))
        by_path[str(path)] = ([*types, str(typ)], max(best, float(share)))
    return [Found(p, sorted(t), matches, sh, kind) for p, (t, sh) in sorted(by_path.items())]


def _carriers(
    con: duckdb.DuckDBPyConnection, f: Frame, code: npt.NDArray[np.integer], values: U64
) -> pa.Table:
    """(value hash, link name code, time) of the original events' identifier rows carrying these values."""
    register(con, "_r_cand", pa.table({"vh": arrow_u64(values)}))
    # Zero-copy views of the identifier columns; DuckDB's join runs on every core.
    register(con, "_r_all_ids", pa.table({"eid": f.id_eid, "code": code, "vh": arrow_u64(f.id_vh)}))
    try:
        hit = query_arrow(con, "SELECT eid, code, vh FROM _r_all_ids SEMI JOIN _r_cand USING (vh)")
    finally:
        for t in ("_r_cand", "_r_all_ids"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(t)
    eid = np.asarray(np_chunks(hit.column("eid")), dtype=np.int64)
    keep = pa.array(f.is_event[eid] & ~f.is_dup[eid])
    return pa.table(
        {
            "vh": hit.column("vh").filter(keep),
            "code": hit.column("code").filter(keep),
            "ts": f.ts[eid[np.asarray(keep)]],
        }
    )


def _sampled_fields(con: duckdb.DuckDBPyConnection, f: Frame) -> pa.Table:
    """Scalar payload fields of a sample of JSON records: (record hash, type, path, value hash, time).

    A few hundred records per event type, taken where reading them is cheap:
    a rare type's records all, a common type's from short time windows spread
    over the log (filters DuckDB pushes into the scan, so only the row groups
    holding them are read: payloads are the bulk of the store). The sample is
    bounded, so the documents are walked here (orjson); DuckDB hashes the
    values as it hashes identifier values."""
    ok = f.is_event & ~f.is_dup
    if not ok.any():
        return pa.table({"h": pa.array([], pa.uint64())})
    per_type = np.bincount(f.typ[ok], minlength=len(f.types))
    rare = [f.types[t] for t in np.flatnonzero((per_type > 0) & (per_type <= 2 * _EVENTS_PER_TYPE))]
    common = per_type > 2 * _EVENTS_PER_TYPE
    clauses: list[str] = []
    params: list[object] = []
    if rare:
        clauses.append(f"event_type IN ({', '.join('?' * len(rare))})")
        params += rare
    if common.any():
        ts = f.ts[ok & common[f.typ]]
        lo, hi = int(ts.min()), int(ts.max())
        # Each window should hold about its share of the common types' sample.
        want = _EVENTS_PER_TYPE * int(common.sum())
        width = max(1, int((hi - lo + 1) * want / ts.size / _WINDOWS))
        for i in range(_WINDOWS):
            start = lo + (hi - lo) * i // _WINDOWS
            clauses.append("ts_ms BETWEEN ? AND ?")
            params += [start, start + width]
    if not clauses:
        return pa.table({"h": pa.array([], pa.uint64())})
    docs = con.execute(
        f"""
        SELECT hash(topic, partition, "offset"), event_type, coalesce(ts_ms, event_time_ms, 0), payload
        FROM log_events WHERE payload_kind = 'json' AND ({" OR ".join(clauses)})
        QUALIFY row_number() OVER (PARTITION BY event_type ORDER BY hash(topic, partition, "offset"))
                <= {_EVENTS_PER_TYPE}
        """,
        params,
    ).fetchall()
    cols: dict[str, list[object]] = {"h": [], "typ": [], "path": [], "v": [], "ts": []}
    for h, typ, t, payload in docs:
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict):
            for path, value in _scalars(doc, "", 0):
                cols["h"].append(h)
                cols["typ"].append(typ)
                cols["path"].append(path)
                cols["v"].append(value)
                cols["ts"].append(t)
    table = pa.table(
        {
            "h": pa.array(cols["h"], pa.uint64()),
            "typ": pa.array(cols["typ"], pa.string()),
            "path": pa.array(cols["path"], pa.string()),
            "v": pa.array(cols["v"], pa.string()),
            "ts": pa.array(cols["ts"], pa.int64()),
        }
    )
    register(con, "_r_fields", table)
    try:
        return query_arrow(
            con,
            "SELECT h, typ, path, hash(v) AS vh, regexp_full_match(v, '-?[0-9]+') AS num, ts FROM _r_fields",
        )
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("_r_fields")


def _scalars(doc: dict[str, Any], prefix: str, depth: int) -> Iterator[tuple[str, str]]:
    """(dotted path, value text) of a document's text and integer fields, a few levels deep."""
    for k, v in doc.items():
        if not k or "." in k or "[" in k or '"' in k:
            continue  # (not addressable as a dotted path)
        path = prefix + k
        if isinstance(v, dict):
            if depth < _MAX_DEPTH:
                yield from _scalars(v, path + ".", depth + 1)
        elif isinstance(v, str):
            if 0 < len(v) <= 256:
                yield path, v
        elif isinstance(v, int) and not isinstance(v, bool):
            yield path, str(v)


def extract_found(
    con: duckdb.DuckDBPyConnection,
    found: list[Found],
    scope_relation: str | None = None,
    *,
    unstated_cause: bool = False,
) -> pa.Table:
    """(record hash, name, value, value hash) of every found field, on the types it was found on;
    ``unstated_cause``: only from the records that state no causation id (payloads are the
    bulk of the store: those that state one need not be read)."""
    schema = pa.schema(
        [("h", pa.uint64()), ("name", pa.string()), ("value", pa.string()), ("vh", pa.uint64())]
    )
    if not found:
        return schema.empty_table()
    scope = f'SEMI JOIN {scope_relation} s USING (topic, partition, "offset")' if scope_relation else ""
    unstated = " AND e.causation_id IS NULL" if unstated_cause else ""
    parts: list[str] = []
    params: list[object] = []
    for fd in found:
        parts.append(
            f"""SELECT hash(e.topic, e.partition, e."offset") AS h, ?::VARCHAR AS name,
                   json_extract_string(decode(e.payload), ?) AS value
            FROM log_events e {scope}
            WHERE e.payload_kind = 'json' AND list_contains(?::VARCHAR[], e.event_type){unstated}"""
        )
        params += [fd.name, "$." + fd.name, fd.types]
    union = " UNION ALL ".join(parts)
    out = con.sql(
        f"SELECT h, name, value, hash(value) AS vh FROM ({union}) "
        "WHERE value IS NOT NULL AND length(value) BETWEEN 1 AND 256",
        params=params,
    ).to_arrow_table()
    assert isinstance(out, pa.Table)
    return out.cast(schema)
