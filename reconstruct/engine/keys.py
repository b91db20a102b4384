"""Which identifiers stitch events into instances, and which are traps.

Statistics per identifier name over the (deduplicated) frame: events, distinct
values, mean events per value, the event types it links. A name is a *trap*
(an attribute shared by many instances: a customer id, a currency, a status)
when either

1. its values repeat event types: on average a value is carried by more than
   ``trap_repeat`` events of one and the same type. An order id is carried by
   one OrderCreated; a customer id by one OrderCreated per order.
2. it is coarser than another name Y that describes whole instances: one of
   its values co-occurs with several Y values and repeats an event type
   (>= 5% of values) while a Y value practically never does so with
   several of its values (<= 2%), and a Y value spans at least 70% as many
   event types as one of its values (so a per-hop trace id, which spans one
   or two types, does not make the order id look coarse). Measured on a
   sample of values.

Distinct counts are HyperLogLog estimates (exact for small counts, within
about 2% on large logs); the per-value statistics of rule 2 are computed on
a sample of values (every value whose hash falls in 1/k of the hash space,
with all its events).

``choreo.toml`` ``[reconstruct] stitch_include``/``stitch_exclude`` force a name
in or out.

Namespacing: a value that is text (a UUID, ``ord-4711``) links events
whatever the name it was found under (``orderId``, ``order.id``, the record
key, a correlation header). A purely numeric value does not: small integers
of different kinds collide (order 42, payment 42), so it links only under
the same normalised name (lower-case, ``data.``/``payload.`` scope dropped,
punctuation removed: ``orderId`` = ``order_id`` = ``order.id``). A numeric
record key is read as the identifier it usually equals on its topic.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from choreo.core.config import ReconstructConfig
from choreo.core.schema import IDENTIFIER_STATS
from choreo.reconstruct.engine.frame import Frame, arrow_u64, mix, register
from choreo.reconstruct.query.records import KeyStat

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

# Names known to identify the event's transport rather than the business:
# used for stitching like any other, but a poor label for an instance.
_LABEL_LAST = {"trace_id": 3, "key": 2, "ce_subject": 1}
_HEADER_NAMES = {"correlation-id", "x-correlation-id", "correlationid", "correlation_id"}
_PAIR_ROWS = 300_000
_COARSE_MULTI = 0.05
_REPEAT_MIN = 1.01
_FINE_MULTI = 0.02
_WIDTH_RATIO = 0.7


def normalise_name(name: str) -> str:
    n = name.lower()
    for scope in ("data.", "payload."):
        if n.startswith(scope):
            n = n[len(scope) :]
    return re.sub(r"[^a-z0-9]", "", n) or name


def label_priority(name: str, events: int) -> tuple[int, int]:
    """Smaller is better: business identifiers first, then the most common."""
    group = _LABEL_LAST.get(name, 0)
    if group == 0 and name.lower() in _HEADER_NAMES:
        group = 1
    return (group, -events)


def analyse_keys(con: duckdb.DuckDBPyConnection, f: Frame, cfg: ReconstructConfig) -> list[KeyStat]:
    """Compute per-name statistics and decide which names stitch."""
    n_names, n_types = len(f.names), len(f.types)
    if n_names == 0:
        return []
    # Duplicates' rows (about 1%) are left out by subtraction and filters, not
    # by copying the identifier columns (the bulk of the frame) without them.
    dup = f.is_dup[f.id_eid]
    any_dup = bool(dup.any())
    name, vh, eid = f.id_name, f.id_vh, f.id_eid
    typ = f.typ.astype(np.int16 if n_types < 2**15 else np.int64)[eid]
    register(
        con, "_r_ids_all", pa.table({"eid": eid, "name": name, "vh": arrow_u64(vh), "typ": typ, "dup": dup})
    )
    try:
        # Counted by DuckDB on every core, over the registered columns as they are.
        events = np.zeros(n_names, dtype=np.int64)
        linked = np.zeros((n_names, n_types), dtype=bool)
        for nm, t, c in con.execute(
            "SELECT name, typ::BIGINT, count(*) FROM _r_ids_all WHERE NOT dup GROUP BY ALL"
        ).fetchall():
            events[int(nm)] += int(c)
            linked[int(nm), int(t)] = True
        # Distinct counts by HyperLogLog (exact for small counts, within ~2% for large ones).
        counted = {
            int(r[0]): (int(r[1]), int(r[2]), int(r[3]))
            for r in con.execute(
                """
                SELECT name, count(*), approx_count_distinct(vh), approx_count_distinct(hash(vh, typ::BIGINT))
                FROM _r_ids_all WHERE NOT dup GROUP BY name
                """
            ).fetchall()
        }
        pair_mod = max(1, int(events.sum()) // _PAIR_ROWS)
        take = (vh % np.uint64(pair_mod)) == 0 if pair_mod > 1 else np.ones(name.size, dtype=bool)
        if any_dup:
            take &= ~dup
        vals = _value_stats(name[take], vh[take], typ[take])
        base: dict[int, tuple[int, float, float]] = {}
        for code, (rows, distinct, distinct_typed) in counted.items():
            sel = vals.name == code
            multi = sel & (vals.n_ev >= 2)
            width = float(vals.n_types[multi].mean()) if multi.any() else 1.0
            base[code] = (distinct, rows / max(1, distinct_typed), width)
        register(con, "_r_ids_s", pa.table({"name": name[take], "vh": arrow_u64(vh[take]), "eid": eid[take]}))
        register(
            con,
            "_r_vals",
            pa.table(
                {
                    "name": vals.name,
                    "vh": arrow_u64(vals.vh),
                    "n_ev": vals.n_ev,
                    "n_types": vals.n_types,
                }
            ),
        )
        coarse = _coarser_than(con, f.names, base, cfg.trap_repeat)
    finally:
        for t in ("_r_ids_s", "_r_ids_all", "_r_vals"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(t)
    out: list[KeyStat] = []
    for code, nm in enumerate(f.names):
        distinct, rep, _width = base.get(code, (0, 1.0, 1.0))
        mean = float(events[code]) / distinct if distinct else 0.0
        if nm in cfg.stitch_exclude:
            used, reason = False, "excluded by config"
        elif nm in cfg.stitch_include:
            used, reason = True, "included by config"
        elif rep > cfg.trap_repeat:
            used, reason = (
                False,
                f"trap: a value is carried by {rep:.1f} events of the same type on average "
                "(shared by many instances)",
            )
        elif nm in coarse:
            used, reason = False, f"trap: one value spans several {coarse[nm]} values"
        else:
            used, reason = True, "identifies instances"
        types = [f.types[t] for t in np.nonzero(linked[code])[0]]
        out.append(KeyStat(nm, int(events[code]), int(distinct), mean, types, used, reason))
    return out


@dataclass
class _Values:
    name: I64
    vh: U64
    n_ev: I64
    n_types: I64


def _value_stats(name: I64, vh: U64, typ: I64) -> _Values:
    """Per distinct (name, value): its events and distinct event types (hash kernels, no sort)."""
    key = mix(vh, name.astype(np.uint64))
    vid = _dense(key)
    n_values = int(vid.max()) + 1 if vid.size else 0
    first = np.full(n_values, -1, dtype=np.int64)
    first[vid[::-1]] = np.arange(vid.size - 1, -1, -1, dtype=np.int64)
    pair = _dense(mix(key, typ.astype(np.uint64)))
    pair_first = np.full(int(pair.max()) + 1 if pair.size else 0, -1, dtype=np.int64)
    pair_first[pair[::-1]] = np.arange(pair.size - 1, -1, -1, dtype=np.int64)
    return _Values(
        name=name[first],
        vh=vh[first],
        n_ev=np.bincount(vid, minlength=n_values).astype(np.int64),
        n_types=np.bincount(vid[pair_first], minlength=n_values).astype(np.int64),
    )


def _dense(key: U64) -> I64:
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(pc.dictionary_encode(arrow_u64(key)).indices.to_numpy(), dtype=np.int64)


def _coarser_than(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    base: dict[int, tuple[int, float, float]],
    trap_repeat: float,
) -> dict[str, str]:
    """name -> the finer instance-wide name it is coarser than."""
    # Only a name whose values ever repeat an event type can be coarse; the
    # others need no pairing at all.
    candidates = [code for code, (_d, rep, _w) in base.items() if _REPEAT_MIN < rep <= trap_repeat]
    if len(base) < 2 or not candidates:
        return {}
    rows = con.execute(
        f"""
        WITH s AS (SELECT eid, name, vh FROM _r_ids_s WHERE name IN ({", ".join(map(str, candidates))})),
        per_value AS (
            SELECT s.name AS a, s.vh AS av, o.name AS b, count(DISTINCT o.vh) AS nb
            FROM s JOIN _r_ids_all o ON o.eid = s.eid AND o.name <> s.name
            GROUP BY ALL
        )
        -- A value spans several instances when it co-occurs with several
        -- values of the other name AND repeats an event type: several
        -- record keys of one order (its order, payment and shipment ids)
        -- are parts of one instance, several orders of one customer are not.
        SELECT p.a, p.b, avg((p.nb >= 2 AND v.n_ev > v.n_types)::INTEGER), count(*)
        FROM per_value p JOIN _r_vals v ON v.name = p.a AND v.vh = p.av
        GROUP BY p.a, p.b
        """
    ).fetchall()
    # The reverse direction (does a Y value span several X values?) for each pair.
    rows += con.execute(
        f"""
        WITH s AS (SELECT eid, name, vh FROM _r_ids_s),
        x AS (SELECT eid, name, vh FROM _r_ids_all WHERE name IN ({", ".join(map(str, candidates))})),
        per_value AS (
            SELECT s.name AS a, s.vh AS av, x.name AS b, count(DISTINCT x.vh) AS nb
            FROM s JOIN x ON x.eid = s.eid AND x.name <> s.name
            GROUP BY ALL
        )
        SELECT p.a, p.b, avg((p.nb >= 2 AND v.n_ev > v.n_types)::INTEGER), count(*)
        FROM per_value p JOIN _r_vals v ON v.name = p.a AND v.vh = p.av
        WHERE p.a NOT IN ({", ".join(map(str, candidates))})
        GROUP BY p.a, p.b
        """
    ).fetchall()
    multi = {(int(a), int(b)): (float(m), int(n)) for a, b, m, n in rows}
    out: dict[str, str] = {}
    for (x, y), (m_xy, n_xy) in sorted(multi.items()):
        if base.get(y, (0, 1.0, 1.0))[1] > trap_repeat or n_xy < 3 or m_xy < _COARSE_MULTI:
            continue
        m_yx, n_yx = multi.get((y, x), (1.0, 0))
        if n_yx >= 3 and m_yx <= _FINE_MULTI and base[y][2] >= _WIDTH_RATIO * base[x][2]:
            out.setdefault(names[x], names[y])
    return out


_STAT_SCHEMA = IDENTIFIER_STATS.arrow_schema()


def write_key_stats(con: duckdb.DuckDBPyConnection, stats: list[KeyStat]) -> None:
    con.execute("DELETE FROM identifier_stats")
    table = pa.Table.from_pylist([s.__dict__ for s in stats], schema=_STAT_SCHEMA)
    con.register("_r_stats_src", table)
    try:
        con.execute("INSERT INTO identifier_stats SELECT * FROM _r_stats_src")
    finally:
        con.unregister("_r_stats_src")
