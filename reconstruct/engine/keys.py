"""Which identifiers stitch events into instances, and which are traps.

Statistics per link name (``values.py``: an identifier's name, the record
key per topic) over the original events: events, distinct values, mean
events per value, the event types it links, and the trap rule's evidence
(``traps.py``: how many instances a value would merge). Repeated events of
one type per value (loops, retries, lifecycle events) are normal for a case
id and never make it a trap.

Distinct counts are HyperLogLog estimates (exact for small counts, within
about 2% on large logs).

``choreo.toml`` ``[reconstruct] stitch_include``/``stitch_exclude`` force a name
in or out (``key`` means the record key on every topic, ``key@TOPIC`` on one).
"""

from __future__ import annotations

import contextlib

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from choreo.core.config import ReconstructConfig
from choreo.core.schema import IDENTIFIER_STATS
from choreo.reconstruct.engine.discover import Found
from choreo.reconstruct.engine.frame import Frame, arrow_u64, register
from choreo.reconstruct.engine.traps import Merging, merging
from choreo.reconstruct.engine.values import Values, key_topic, normalise_name, stored_name
from choreo.reconstruct.query.records import KeyStat

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

# Names known to identify the event's transport rather than the business:
# used for stitching like any other, but a poor label for an instance.
_LABEL_LAST = {"trace_id": 3, "key": 2, "ce_subject": 1}
_HEADER_NAMES = {"correlation-id", "x-correlation-id", "correlationid", "correlation_id"}
_EXACT_ROWS = 1_000_000  # identifier rows of a name up to which its values are counted exactly

__all__ = ["analyse_keys", "label_priority", "normalise_name", "write_key_stats"]


def label_priority(name: str, events: int) -> tuple[int, int]:
    """Smaller is better: business identifiers first, then the most common."""
    base = stored_name(name)
    group = _LABEL_LAST.get(base, 0)
    if group == 0 and base.lower() in _HEADER_NAMES:
        group = 1
    return (group, -events)


def _forced(name: str, cfg: ReconstructConfig) -> bool | None:
    """Whether config forces this link name out (False) or in (True)."""
    base = stored_name(name)
    if name in cfg.stitch_exclude or base in cfg.stitch_exclude:
        return False
    if name in cfg.stitch_include or base in cfg.stitch_include:
        return True
    return None


def analyse_keys(
    con: duckdb.DuckDBPyConnection,
    f: Frame,
    v: Values,
    cfg: ReconstructConfig,
    found: list[Found] | None = None,
) -> list[KeyStat]:
    """Compute per-link-name statistics and decide which names stitch."""
    n_codes, n_types = len(v.names), len(f.types)
    if f.id_eid.size == 0:
        return []
    # Duplicates' and not-events' rows are left out by filters, not by copying
    # the identifier columns (the bulk of the frame) without them.
    skip = (f.is_dup | ~f.is_event)[f.id_eid]
    keep = ~skip
    typ = f.typ.astype(np.int16 if n_types < 2**15 else np.int64)[f.id_eid]
    register(
        con,
        "_r_ids_all",
        pa.table({"eid": f.id_eid, "code": v.code, "lv": arrow_u64(v.link), "typ": typ, "skip": skip}),
    )
    del typ
    try:
        # Counted by DuckDB on every core, over the registered columns as they are.
        events = np.zeros(n_codes, dtype=np.int64)
        linked = np.zeros((n_codes, n_types), dtype=bool)
        for c, t, n in con.execute(
            "SELECT code, typ::BIGINT, count(*) FROM _r_ids_all WHERE NOT skip GROUP BY ALL"
        ).fetchall():
            events[int(c)] += int(n)
            linked[int(c), int(t)] = True
        # Distinct values counted exactly up to _EXACT_ROWS rows of a name
        # (HyperLogLog said 102 values on 100 events), by HyperLogLog above
        # (within ~2%, never shown above the events).
        exact = [int(c) for c in np.flatnonzero((events > 0) & (events <= _EXACT_ROWS))]
        distinct = {
            int(r[0]): min(int(r[1]), int(events[int(r[0])]))
            for r in con.execute(
                "SELECT code, CASE WHEN list_contains(?, code) THEN count(DISTINCT lv) "
                "ELSE approx_count_distinct(lv) END FROM _r_ids_all WHERE NOT skip GROUP BY code",
                [exact],
            ).fetchall()
        }
        forced = {c: fc for c, nm in enumerate(v.names) if (fc := _forced(nm, cfg)) is not None}
        evidence, traps = merging(
            con, f, v.code, v.link, keep, distinct, n_codes, share=cfg.trap_share, forced=forced
        )
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("_r_ids_all")
    by_value = {fd.name: fd for fd in found or [] if fd.kind == "identifier"}
    out: list[KeyStat] = []
    for c, nm in enumerate(v.names):
        if events[c] == 0:
            continue
        m = evidence.get(c, Merging(0, 0, 0.0))
        used, reason = _verdict(nm, c, m, traps, forced, cfg)
        types = [f.types[t] for t in np.flatnonzero(linked[c])]
        d = distinct.get(c, 0)
        fd = by_value.get(nm)
        out.append(
            KeyStat(
                nm,
                int(events[c]),
                d,
                float(events[c]) / d if d else 0.0,
                types,
                used,
                reason,
                values_checked=m.checked,
                merging=m.merging,
                instances_per_value=m.mean_instances,
                namespace=v.namespace.get(nm),
                found_by=None if fd is None else "value",
                matches=None if fd is None else fd.matches,
                match_share=None if fd is None else fd.share,
            )
        )
    # Causation fields found by value: listed with their evidence (they link
    # an event to its cause, not to a value).
    for fd in found or []:
        if fd.kind == "causation":
            out.append(
                KeyStat(
                    fd.name,
                    0,
                    0,
                    0.0,
                    fd.types,
                    True,
                    f"causation: {fd.share:.0%} of its sampled values are the event ids of other events",
                    found_by="causation",
                    matches="event id",
                    match_share=fd.share,
                )
            )
    return out


def _verdict(
    name: str, code: int, m: Merging, traps: set[int], forced: dict[int, bool], cfg: ReconstructConfig
) -> tuple[bool, str]:
    if forced.get(code) is False:
        return False, "excluded by config"
    if forced.get(code) is True:
        return True, "included by config"
    if code in traps:
        return False, (
            f"trap: {m.merging} of {m.checked} values checked would merge several instances "
            f"({m.mean_instances:.1f} on average)"
        )
    topic = key_topic(name)
    where = f" on topic {topic}" if topic else ""
    if m.checked == 0:
        return True, f"identifies instances{where} (nothing else ties its events to check against)"
    if m.merging:
        return True, (
            f"identifies instances{where}: {m.merging} of {m.checked} values checked would merge "
            f"several (below {cfg.trap_share:.0%})"
        )
    return True, f"identifies instances{where}: none of {m.checked} values checked merges instances"


_STAT_SCHEMA = IDENTIFIER_STATS.arrow_schema()


def write_key_stats(con: duckdb.DuckDBPyConnection, stats: list[KeyStat]) -> None:
    con.execute("DELETE FROM identifier_stats")
    table = pa.Table.from_pylist([s.__dict__ for s in stats], schema=_STAT_SCHEMA)
    con.register("_r_stats_src", table)
    try:
        columns = ", ".join(f'"{c}"' for c in _STAT_SCHEMA.names)
        con.execute(f"INSERT INTO identifier_stats ({columns}) SELECT * FROM _r_stats_src")
    finally:
        con.unregister("_r_stats_src")
