"""Which identifiers stitch events into instances, and which are traps.

Statistics per identifier name over the (deduplicated) frame: events, distinct
values, mean events per value, the event types it links. A name is a *trap*
(an attribute shared by many instances: a customer id, a currency, a status)
when either

1. its values repeat event types: on average a value is carried by more than
   ``trap_repeat`` events of one and the same type. An order id is carried by
   one OrderCreated; a customer id by one OrderCreated per order.
2. it is coarser than another name Y that describes whole instances: one of
   its values co-occurs with several Y values (>= 5% of values) while a Y
   value practically never co-occurs with several of its values (<= 2%), and
   a Y value spans at least 70% as many event types as one of its values (so
   a per-hop trace id, which spans one or two types, does not make the order
   id look coarse). Measured on a sample of values.

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

import re
from dataclasses import dataclass

import duckdb

from choreo.config import ReconstructConfig

# Names known to identify the event's transport rather than the business:
# used for stitching like any other, but a poor label for an instance.
_LABEL_LAST = {"trace_id": 3, "key": 2, "ce_subject": 1}
_HEADER_NAMES = {"correlation-id", "x-correlation-id", "correlationid", "correlation_id"}
_SAMPLE_ROWS = 300_000
_COARSE_MULTI = 0.05
_FINE_MULTI = 0.02
_WIDTH_RATIO = 0.7


@dataclass(frozen=True)
class KeyStat:
    name: str
    events: int
    distinct_values: int
    mean_events_per_value: float
    event_types: list[str]
    used_for_stitching: bool
    reason: str


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


def analyse_keys(con: duckdb.DuckDBPyConnection, cfg: ReconstructConfig) -> list[KeyStat]:
    """Compute per-name statistics and decide which names stitch."""
    base = con.execute(
        """
        WITH v AS (
            SELECT name, value, count(*) AS n_ev, count(DISTINCT event_type) AS n_types
            FROM _r_id WHERE NOT dup GROUP BY name, value
        )
        SELECT name, sum(n_ev)::BIGINT, count(*)::BIGINT, sum(n_ev) / sum(n_types),
               coalesce(avg(n_types) FILTER (WHERE n_ev >= 2), 1.0)
        FROM v GROUP BY name ORDER BY name
        """
    ).fetchall()
    types = dict(
        con.execute(
            "SELECT name, list(DISTINCT event_type ORDER BY event_type) "
            "FROM _r_id WHERE NOT dup GROUP BY name"
        ).fetchall()
    )
    width = {str(r[0]): float(r[4]) for r in base}
    repeat = {str(r[0]): float(r[3]) for r in base}
    coarse = _coarser_than(con, width, repeat, cfg.trap_repeat)
    out: list[KeyStat] = []
    for name, events, distinct, rep, _w in base:
        name = str(name)
        mean = events / distinct if distinct else 0.0
        if name in cfg.stitch_exclude:
            used, reason = False, "excluded by config"
        elif name in cfg.stitch_include:
            used, reason = True, "included by config"
        elif rep > cfg.trap_repeat:
            used, reason = (
                False,
                f"trap: a value is carried by {rep:.1f} events of the same type on average "
                "(shared by many instances)",
            )
        elif name in coarse:
            used, reason = False, f"trap: one value spans several {coarse[name]} values"
        else:
            used, reason = True, "identifies instances"
        out.append(KeyStat(name, int(events), int(distinct), mean, list(types.get(name, [])), used, reason))
    return out


def _coarser_than(
    con: duckdb.DuckDBPyConnection, width: dict[str, float], repeat: dict[str, float], trap_repeat: float
) -> dict[str, str]:
    """name -> the finer instance-wide name it is coarser than."""
    row = con.execute("SELECT count(*) FROM _r_id WHERE NOT dup").fetchone()
    total = int(row[0]) if row else 0
    if total == 0 or len(width) < 2:
        return {}
    modulo = max(1, total // _SAMPLE_ROWS)
    rows = con.execute(
        f"""
        WITH s AS (
            SELECT eid, name, value FROM _r_id WHERE NOT dup AND hash(value) % {modulo} = 0
        ),
        per_value AS (
            SELECT s.name AS a, s.value AS av, o.name AS b, count(DISTINCT o.value) AS nb
            FROM s JOIN _r_id o ON o.eid = s.eid AND o.name <> s.name AND NOT o.dup
            GROUP BY ALL
        )
        SELECT a, b, avg((nb >= 2)::INTEGER), count(*) FROM per_value GROUP BY a, b
        """
    ).fetchall()
    multi = {(str(a), str(b)): (float(m), int(n)) for a, b, m, n in rows}
    out: dict[str, str] = {}
    for (x, y), (m_xy, n_xy) in sorted(multi.items()):
        if repeat.get(y, 1.0) > trap_repeat or n_xy < 3 or m_xy < _COARSE_MULTI:
            continue
        m_yx, n_yx = multi.get((y, x), (1.0, 0))
        if n_yx >= 3 and m_yx <= _FINE_MULTI and width[y] >= _WIDTH_RATIO * width[x]:
            out.setdefault(x, y)
    return out


def write_key_stats(con: duckdb.DuckDBPyConnection, stats: list[KeyStat]) -> None:
    con.execute("DELETE FROM identifier_stats")
    if stats:
        con.executemany(
            "INSERT INTO identifier_stats VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    s.name,
                    s.events,
                    s.distinct_values,
                    s.mean_events_per_value,
                    s.event_types,
                    s.used_for_stitching,
                    s.reason,
                )
                for s in stats
            ],
        )


def load_key_stats(con: duckdb.DuckDBPyConnection) -> list[KeyStat]:
    rows = con.execute(
        "SELECT name, events, distinct_values, mean_events_per_value, event_types, "
        "used_for_stitching, reason FROM identifier_stats ORDER BY name"
    ).fetchall()
    return [
        KeyStat(str(r[0]), int(r[1]), int(r[2]), float(r[3]), list(r[4]), bool(r[5]), str(r[6])) for r in rows
    ]
