"""Which identifiers stitch events into instances, and which are traps.

Statistics per link name (``values.py``: an identifier's name, the record
key per topic) over the original events: events, distinct values, mean
events per value, the event types it links, and the trap rule's evidence
(``traps.py``: how many instances a value would merge). Repeated events of
one type per value (loops, retries, lifecycle events) are normal for a case
id and never make it a trap.

Distinct counts are exact up to a million rows per name, HyperLogLog
estimates above (within about 2%).

The record key of a topic is judged per event type: services sharing a topic
key their records their own way (one by the order id, another by the
customer). The types whose keys would merge instances are left out of the
topic's key (``trap_types``); the key is a trap only when every type's is.

``choreo.toml`` ``[reconstruct] stitch_include``/``stitch_exclude`` force a name
in or out (``key`` means the record key on every topic, ``key@TOPIC`` on one).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

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
    jud = _judged_names(v, typ, n_types)
    # Counted here: passes over small integer codes.
    name_kept = np.asarray(v.code, dtype=np.int64)[keep]
    events = np.bincount(name_kept, minlength=n_codes)
    pairs = np.bincount(name_kept * n_types + typ[keep].astype(np.int64), minlength=n_codes * n_types)
    linked = pairs.reshape(n_codes, n_types) > 0
    del name_kept, pairs
    j_events = np.bincount(jud.code[keep], minlength=jud.n)
    # Distinct values counted exactly up to _EXACT_ROWS rows of a name
    # (HyperLogLog said 102 values on 100 events), by HyperLogLog above
    # (within ~2%, never shown above the events).
    exact = (events > 0) & (events <= _EXACT_ROWS)
    j_exact = (j_events > 0) & (j_events <= _EXACT_ROWS)
    register(
        con,
        "_r_ids_all",
        pa.table(
            {
                "eid": f.id_eid,
                "code": jud.code,
                "name": v.code,
                "lv": arrow_u64(v.link),
                "skip": skip,
            }
        ),
    )
    del typ
    try:
        distinct = _exact_distinct(np.asarray(v.code, dtype=np.int64), v.link, keep, exact)
        distinct.update(_approx_distinct(con, "name", (events > 0) & ~exact, events))
        # A judged name is its link name, except for the record keys: counted again per type.
        is_key = np.zeros(jud.n, dtype=bool)
        is_key[n_codes:] = True
        j_distinct = _exact_distinct(jud.code, v.link, keep & (jud.code >= n_codes), j_exact & is_key)
        j_distinct.update(_approx_distinct(con, "code", (j_events > 0) & ~j_exact & is_key, j_events))
        j_distinct.update({c: d for c, d in distinct.items() if j_events[c] > 0})
        forced = {c: fc for c, nm in enumerate(v.names) if (fc := _forced(nm, cfg)) is not None}
        j_forced = {j: forced[int(c)] for j, c in enumerate(jud.name_of) if int(c) in forced}
        j_evidence, j_traps, j_split = merging(
            f, jud.code, v.link, keep, j_distinct, jud.n, share=cfg.trap_share, forced=j_forced
        )
        evidence, traps, trap_types = jud.per_name(j_evidence, j_traps, n_codes, f.types)
        # (a record key is judged per type: its values are not left out one by one)
        split = {c: vals for c, vals in j_split.items() if c < n_codes}
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
                trap_types=trap_types.get(c, []),
                split_values=[] if not used else [int(x) for x in split.get(c, [])],
            )
        )
    # Causation fields found by value: listed with their evidence (they link
    # an event to its cause, not to a value).
    # Event ids found by value likewise (they let causation ids find their event).
    why = {
        "causation": "causation: {:.0%} of its sampled values are the event ids of other events",
        "event id": "event id: {:.0%} of its sampled values are named as their cause by other events",
    }
    for fd in found or []:
        if fd.kind in why:
            out.append(
                KeyStat(
                    fd.name,
                    0,
                    0,
                    0.0,
                    fd.types,
                    True,
                    why[fd.kind].format(fd.share),
                    found_by=fd.kind,
                    matches=fd.matches,
                    match_share=fd.share,
                )
            )
    return out


@dataclass(frozen=True)
class _Judged:
    """The names the trap rule judges: every link name, except that the record
    key of a topic is judged per event type (codes from ``len(names)`` on)."""

    code: npt.NDArray[np.int32]  # per identifier row: its judged name
    name_of: I64  # per judged name: its link name code
    type_of: I64  # per judged name: the event type of a record key's (-1: a whole name)

    @property
    def n(self) -> int:
        return int(self.name_of.size)

    def per_name(
        self, evidence: dict[int, Merging], traps: set[int], n_codes: int, types: list[str]
    ) -> tuple[dict[int, Merging], set[int], dict[int, list[str]]]:
        """Back to link names: a record key is a trap when its key on every type
        is; otherwise the types whose key is are listed (left out of stitching)
        and the evidence is that of the types it stitches."""
        out = {c: m for c, m in evidence.items() if c < n_codes}
        name_traps = {c for c in traps if c < n_codes}
        trap_types: dict[int, list[str]] = {}
        for c in np.unique(self.name_of[n_codes:]).tolist():
            js = n_codes + np.flatnonzero(self.name_of[n_codes:] == c)
            trapped = [int(j) for j in js if int(j) in traps]
            kept = [int(j) for j in js if int(j) not in traps] or trapped
            ms = [evidence.get(j, Merging(0, 0, 0.0)) for j in kept]
            checked = sum(m.checked for m in ms)
            mean = sum(m.mean_instances * m.checked for m in ms) / checked if checked else 0.0
            out[c] = Merging(checked, sum(m.merging for m in ms), mean)
            if len(trapped) == len(js):
                name_traps.add(c)
            elif trapped:
                trap_types[c] = sorted(types[int(self.type_of[j])] for j in trapped)
        return out, name_traps, trap_types


def _judged_names(v: Values, typ: npt.NDArray[np.generic], n_types: int) -> _Judged:
    n_codes = len(v.names)
    is_key = np.array([key_topic(nm) is not None for nm in v.names], dtype=bool)
    # 32-bit codes: a copy of tens of millions of rows in 64 bits is fresh memory twice the size.
    code = np.asarray(v.code, dtype=np.int32)
    rows = np.flatnonzero(is_key[code]) if is_key.any() else np.zeros(0, dtype=np.int64)
    pair = code[rows].astype(np.int64) * n_types + typ[rows].astype(np.int64)
    # The pairs present, numbered in order (np.unique's numbering, without sorting the rows).
    present = np.zeros(n_codes * n_types, dtype=bool)
    present[pair] = True
    uniq = np.flatnonzero(present)
    inv = (np.cumsum(present) - 1)[pair]
    if rows.size:
        code = code.copy() if code is v.code else code
        code[rows] = n_codes + inv
    return _Judged(
        code,
        np.r_[np.arange(n_codes, dtype=np.int64), uniq // n_types],
        np.r_[np.full(n_codes, -1, dtype=np.int64), uniq % n_types],
    )


def _exact_distinct(
    code: npt.NDArray[np.integer], link: U64, keep: npt.NDArray[np.bool_], wanted: npt.NDArray[np.bool_]
) -> dict[int, int]:
    """Distinct ``link`` values per ``code`` among the ``keep`` rows, for the
    ``wanted`` codes: each code's values sorted on their own (rows grouped by
    a radix sort of the small codes), a fraction of a hash aggregate's work."""
    rows = keep & wanted[code]
    small = np.int16 if wanted.size < 2**15 else np.int64
    c = np.asarray(code[rows], dtype=small)
    values = link[rows]
    order = np.argsort(c, kind="stable")
    c, values = c[order], values[order]
    bounds = np.searchsorted(c, np.arange(wanted.size + 1))
    out: dict[int, int] = {}
    for k in np.flatnonzero(wanted).tolist():
        seg = np.sort(values[bounds[k] : bounds[k + 1]])
        if seg.size:
            out[k] = 1 + int(np.count_nonzero(seg[1:] != seg[:-1]))
    return out


def _approx_distinct(
    con: duckdb.DuckDBPyConnection, col: str, wanted: npt.NDArray[np.bool_], events: I64
) -> dict[int, int]:
    """Distinct values per ``col`` code of ``_r_ids_all`` by HyperLogLog, for
    the ``wanted`` codes (never above the events)."""
    codes = [int(c) for c in np.flatnonzero(wanted)]
    if not codes:
        return {}
    return {
        int(r[0]): min(int(r[1]), int(events[int(r[0])]))
        for r in con.execute(
            f"SELECT {col}, approx_count_distinct(lv) FROM _r_ids_all "
            f"WHERE NOT skip AND list_contains(?, {col}) GROUP BY {col}",
            [codes],
        ).fetchall()
    }


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
            f"several (below {cfg.trap_share:.0%}; those values link nothing)"
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
