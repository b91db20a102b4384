"""Read helpers over the derived tables, for the CLI, the TUI and exports.

Everything pages in SQL (LIMIT/OFFSET); nothing loads the whole store.

- ``instances_page(store, status=, workflow=, search=, sort=, descending=, offset=, limit=)``
- ``find_instances(store, text)``: instance ids matching an instance id, a
  label, an identifier value (``4711``) or ``name=value`` (``orderId=4711``).
- ``instance_detail(store, instance_id)``: the ordered timeline (services,
  latencies, skew, duplicates, parent links, payloads) and the stuck
  explanation.
- ``workflow_counts(store)``, ``stuck_list(store)``, ``key_stats(store)``.

Works on one store or on several opened with ``reconstruct.log.open_log``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from choreo.core.event_log import ensure_log_views
from choreo.core.schema import META_HASH_PROBE, hash_probe
from choreo.core.store import Store
from choreo.reconstruct.query.records import (
    InstanceDetail,
    InstanceRow,
    KeyStat,
    NotEvent,
    Page,
    StitchHealth,
    StuckInfo,
    TimelineEvent,
    WorkflowSummary,
)

SORTS = {
    "start": "start_ms",
    "end": "end_ms",
    "age": "start_ms",  # oldest first when ascending
    "duration": "(end_ms - start_ms)",
    "events": "n_events",
    "label": "label",
    "status": "status",
    "workflow": "workflow",
    "last": "last_type",
}

# The record types' fields are the tables' column names (tests/reconstruct/test_records_schema.py).
_INSTANCE_COLS = ", ".join(f.name for f in fields(InstanceRow))


def _row(r: Sequence[Any]) -> InstanceRow:
    return InstanceRow(
        str(r[0]),
        str(r[1]),
        str(r[2]),
        str(r[3]),
        int(r[4]),
        int(r[5]),
        int(r[6]),
        int(r[7]),
        int(r[8]),
        str(r[9]),
        str(r[10]),
        str(r[11]),
    )


def has_derived(store: Store) -> bool:
    row = store.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'instances'"
    ).fetchone()
    return bool(row and row[0])


def _has_instance_keys(store: Store) -> bool:
    """instance_keys is there and hashed the way this DuckDB hashes."""
    probe = store.get_meta(META_HASH_PROBE)
    return probe is not None and probe == hash_probe(store.con)


# A search names at most this many instances (a trap value such as a
# customer id names many; the first ones are enough to page through).
MAX_SEARCH_HITS = 10_000


def search_ids(store: Store, text: str, limit: int = MAX_SEARCH_HITS) -> list[str]:
    """Instances that ``text`` names: an instance id, a label, an identifier
    value (``4711``) or ``name=value`` (``orderId=4711``)."""
    text = text.strip()
    name, sep, value = text.partition("=")
    by_name = bool(sep and name and value)
    if _has_instance_keys(store):
        # instance_keys is sorted by the value's hash: a lookup reads one row
        # group, however large the log. A label is one of its name=value pairs.
        sql = (
            "SELECT instance_id FROM instances WHERE instance_id = ? "
            "UNION SELECT instance_id FROM instance_keys WHERE key_hash = hash(?::VARCHAR)"
        )
        params: list[object] = [text, value] if by_name else [text, text]
        if by_name:
            sql += " AND name = ?"
            params.append(name)
    else:
        ident = (
            "SELECT ie.instance_id FROM log_identifiers i "
            'JOIN instance_events ie USING (topic, partition, "offset") WHERE '
        )
        if by_name:
            ident += "i.name = ? AND i.value = ?"
            params = [text, text, name, value]
        else:
            ident += "i.value = ?"
            params = [text, text, text]
        sql = f"SELECT instance_id FROM instances WHERE instance_id = ? OR label = ? UNION {ident}"
    rows = store.con.execute(f"{sql} LIMIT ?", [*params, int(limit)]).fetchall()
    return [str(r[0]) for r in rows]


def _ids_clause(ids: list[str]) -> tuple[str, list[object]]:
    if len(ids) <= 1000:
        # Explicit equalities prune by the zone maps of instance_id.
        return f"instance_id IN ({', '.join('?' * len(ids))})", list(ids)
    return "list_contains(?, instance_id)", [ids]


def instances_page(
    store: Store,
    *,
    status: str | Sequence[str] | None = None,
    workflow: str | None = None,
    search: str | None = None,
    sort: str = "start",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> Page:
    """One page of instances, filtered and sorted in SQL."""
    ensure_log_views(store)
    where: list[str] = []
    params: list[object] = []
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        where.append("status IN (SELECT unnest(?::VARCHAR[]))")
        params.append(statuses)
    if workflow:
        where.append("workflow = ?")
        params.append(workflow)
    if search:
        # An identifier value (a shipment id only one event carries) when
        # complete; part of a label or an instance id while it is typed.
        text = search.strip()
        found = "contains(lower(label), lower(?)) OR contains(lower(instance_id), lower(?))"
        params += [text, text]
        ids = search_ids(store, text)
        if ids:
            clause, p = _ids_clause(ids)
            found += f" OR {clause}"
            params += p
        where.append(f"({found})")
    cond = " AND ".join(where) or "true"
    order = SORTS.get(sort)
    if order is None:
        raise ValueError(f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")
    direction = "DESC" if descending else "ASC"
    rows = store.con.execute(
        f"SELECT {_INSTANCE_COLS} FROM instances WHERE {cond} "
        f"ORDER BY {order} {direction}, instance_id LIMIT ? OFFSET ?",
        [*params, int(limit), int(offset)],
    ).fetchall()
    total = store.con.execute(f"SELECT count(*) FROM instances WHERE {cond}", params).fetchone()
    return Page([_row(r) for r in rows], int(total[0]) if total else 0, offset, limit)


def instances_after(
    store: Store, after: str, *, where: str = "true", params: Sequence[object] = (), limit: int = 500
) -> list[InstanceRow]:
    """The next ``limit`` instances with ids above ``after`` matching ``where``, in id
    order: keyset paging for exports that walk every instance."""
    rows = store.con.execute(
        f"SELECT {_INSTANCE_COLS} FROM instances WHERE instance_id > ? AND {where} "
        "ORDER BY instance_id LIMIT ?",
        [after, *params, int(limit)],
    ).fetchall()
    return [_row(r) for r in rows]


def find_instances(store: Store, text: str, limit: int = 20) -> list[str]:
    """Instance ids that ``text`` names (see ``search_ids``), most recent first."""
    ensure_log_views(store)
    ids = search_ids(store, text)
    if not ids:
        return []
    clause, params = _ids_clause(ids)
    rows = store.con.execute(
        f"SELECT instance_id FROM instances WHERE {clause} ORDER BY start_ms DESC LIMIT ?",
        [*params, int(limit)],
    ).fetchall()
    return [str(r[0]) for r in rows]


def get_instance(store: Store, instance_id: str) -> InstanceRow | None:
    r = store.con.execute(
        f"SELECT {_INSTANCE_COLS} FROM instances WHERE instance_id = ?", [instance_id]
    ).fetchone()
    return None if r is None else _row(r)


STUCK_COLUMNS = ", ".join(f"s.{f.name}" for f in fields(StuckInfo) if f.name != "label") + ", i.label"


def stuck_from_row(r: Sequence[Any]) -> StuckInfo:
    return StuckInfo(
        str(r[0]),
        str(r[1]),
        str(r[2]),
        str(r[3]),
        str(r[4]),
        str(r[5]),
        int(r[6]),
        int(r[7]),
        [str(x) for x in r[8]],
        None if r[9] is None else str(r[9]),
        int(r[10]),
        None if r[11] is None else int(r[11]),
        None if r[12] is None else int(r[12]),
        None if r[13] is None else str(r[13]),
        None if r[14] is None else str(r[14]),
        None if r[15] is None else int(r[15]),
        str(r[16]),
        str(r[17] or ""),
    )


def stuck_list(
    store: Store, *, workflow: str | None = None, offset: int = 0, limit: int | None = None
) -> list[StuckInfo]:
    """Stuck instances, most overdue first."""
    cond, params = ("s.workflow = ?", [workflow]) if workflow else ("true", [])
    lim = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    # The page is cut from `stuck` before the join: a few label lookups, not
    # a join of every stuck instance with every instance.
    order = "s.overdue_ms DESC NULLS LAST, s.instance_id"
    rows = store.con.execute(
        f"SELECT {STUCK_COLUMNS} FROM (SELECT * FROM stuck s WHERE {cond} ORDER BY {order}{lim}) s "
        f"JOIN instances i USING (instance_id) ORDER BY {order}",
        params,
    ).fetchall()
    return [stuck_from_row(r) for r in rows]


def stuck_for(store: Store, instance_id: str) -> StuckInfo | None:
    r = store.con.execute(
        f"SELECT {STUCK_COLUMNS} FROM stuck s JOIN instances i USING (instance_id) WHERE s.instance_id = ?",
        [instance_id],
    ).fetchone()
    return None if r is None else stuck_from_row(r)


def instance_detail(
    store: Store, instance_id: str, *, with_identifiers: bool = True
) -> InstanceDetail | None:
    """One instance: its events in causal order with everything needed to show them.

    ``with_identifiers=False`` leaves each event's identifiers (and the
    instance's) empty, for callers that fetch them per event on demand
    (``event_identifiers``): on a large log that is most of the cost."""
    ensure_log_views(store)
    inst = get_instance(store, instance_id)
    if inst is None:
        return None
    rows = _timeline_rows(store, instance_id, with_identifiers)
    events: list[TimelineEvent] = []
    prev: int | None = None
    seen: dict[tuple[str, str], None] = {}
    for r in rows:
        adj = int(r[7])
        dup = r[10]
        since_prev = None if prev is None or dup is not None else adj - prev
        if dup is None:
            prev = adj
        ids = [(str(p[0]), str(p[1])) for p in (r[18] or [])]
        for p in ids:
            seen.setdefault(p, None)
        events.append(
            TimelineEvent(
                seq=int(r[0]),
                topic=str(r[1]),
                partition=int(r[2]),
                offset=int(r[3]),
                event_type=str(r[4]),
                service=str(r[5]),
                ts_ms=None if r[6] is None else int(r[6]),
                adj_ts_ms=adj,
                skew_ms=int(r[8]),
                since_prev_ms=since_prev,
                since_start_ms=adj - inst.start_ms,
                parent_seq=None if r[9] is None else int(r[9]),
                duplicate_of_seq=None if dup is None else int(dup),
                event_id=r[11],
                causation_id=r[12],
                trace_id=r[13],
                key=r[14],
                headers=[(str(h["name"]), h["value"]) for h in (r[15] or [])],
                payload=r[16],
                payload_kind=str(r[17]),
                identifiers=ids,
            )
        )
    return InstanceDetail(
        inst, events, stuck_for(store, instance_id), list(seen), not_events_of(store, instance_id)
    )


def _has_table(store: Store, name: str) -> bool:
    row = store.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


def not_events_of(store: Store, instance_id: str) -> list[NotEvent]:
    """The records that are not events carrying this instance's identifier, in stored order."""
    if not _has_table(store, "not_events"):
        return []
    ensure_log_views(store)
    rows = store.con.execute(
        """
        SELECT n.topic, n.partition, n."offset", n.reason, e.ts_ms, e.key, e.payload_kind, n.instance_id
        FROM not_events n JOIN log_events e USING (topic, partition, "offset")
        WHERE n.instance_id = ? ORDER BY e.ts_ms, n.topic, n.partition, n."offset"
        """,
        [instance_id],
    ).fetchall()
    return [_not_event(r) for r in rows]


def _not_event(r: Sequence[Any]) -> NotEvent:
    return NotEvent(
        str(r[0]),
        int(r[1]),
        int(r[2]),
        str(r[3]),
        None if r[4] is None else int(r[4]),
        r[5],
        str(r[6]),
        None if r[7] is None else str(r[7]),
    )


def not_event_counts(store: Store) -> dict[str, tuple[int, int]]:
    """Per reason: records that are not events, and how many of them carry an instance's identifier."""
    if not _has_table(store, "not_events"):
        return {}
    return {
        str(reason): (int(n), int(placed))
        for reason, n, placed in store.con.execute(
            "SELECT reason, count(*), count(instance_id) FROM not_events GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    }


# Up to this many events, an instance's records are fetched by their keys
# (each lookup reads a row group or two); beyond, one join over the log is cheaper.
_POINT_LOOKUPS = 500


def _timeline_rows(store: Store, instance_id: str, with_identifiers: bool) -> list[tuple[Any, ...]]:
    """The instance's events in ``seq`` order, joined with their records and identifiers."""
    members = store.con.execute(
        'SELECT seq, topic, partition, "offset", adj_ts_ms, skew_ms, parent_seq, duplicate_of_seq '
        "FROM instance_events WHERE instance_id = ? ORDER BY seq",
        [instance_id],
    ).fetchall()
    if not members:
        return []
    keys = [(str(m[1]), int(m[2]), int(m[3])) for m in members]
    if len(members) <= _POINT_LOOKUPS:
        # OR-ed key equalities prune by the zone maps of (topic, partition, offset).
        cond = " OR ".join('(topic = ? AND partition = ? AND "offset" = ?)' for _ in keys)
        flat = [x for k in keys for x in k]
        src = f"FROM log_events WHERE {cond}"
        id_src = f"FROM log_identifiers WHERE {cond}"
    else:
        flat = [instance_id]
        mine = (
            'SEMI JOIN (SELECT topic, partition, "offset" FROM instance_events WHERE instance_id = ?) '
            'USING (topic, partition, "offset")'
        )
        src = f"FROM log_events {mine}"
        id_src = f"FROM log_identifiers {mine}"
    records = {
        (str(r[0]), int(r[1]), int(r[2])): r[3:]
        for r in store.con.execute(
            'SELECT topic, partition, "offset", event_type, service, ts_ms, event_id, causation_id, '
            f"trace_id, key, headers, payload, payload_kind {src}",
            flat,
        ).fetchall()
    }
    ids: dict[tuple[str, int, int], list[list[str]]] = {}
    if with_identifiers:
        for t, p, o, name, value in store.con.execute(
            f'SELECT topic, partition, "offset", name, value {id_src} ORDER BY name, value', flat
        ).fetchall():
            ids.setdefault((str(t), int(p), int(o)), []).append([str(name), str(value)])
    rows = []
    for m, key in zip(members, keys, strict=True):
        rec = records.get(key)
        if rec is None:
            continue  # a record of another shard that is not attached now
        etype, service, ts_ms, event_id, causation_id, trace_id, rkey, headers, payload, kind = rec
        rows.append(
            (
                m[0],
                *key,
                etype,
                service,
                ts_ms,
                m[4],
                m[5],
                m[6],
                m[7],
                event_id,
                causation_id,
                trace_id,
                rkey,
                headers,
                payload,
                kind,
                ids.get(key),
            )
        )
    return rows


def event_identifiers(store: Store, topic: str, partition: int, offset: int) -> list[tuple[str, str]]:
    """The identifiers one event carries, by its key."""
    ensure_log_views(store)
    rows = store.con.execute(
        'SELECT name, value FROM log_identifiers WHERE topic = ? AND partition = ? AND "offset" = ? '
        "ORDER BY name, value",
        [topic, partition, offset],
    ).fetchall()
    return [(str(n), str(v)) for n, v in rows]


def workflow_counts(store: Store) -> dict[str, dict[str, int]]:
    """workflow -> status -> instances."""
    out: dict[str, dict[str, int]] = {}
    for wf, status, n in store.con.execute(
        "SELECT workflow, status, count(*) FROM instances GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall():
        out.setdefault(str(wf), {})[str(status)] = int(n)
    return out


def key_stats(store: Store) -> list[KeyStat]:
    return KeyStat.load_all(store.con)


def workflow_summaries(store: Store) -> list[WorkflowSummary]:
    """Per workflow: instances by status and events, one GROUP BY."""
    rows = store.con.execute(
        "SELECT workflow, status, count(*), sum(n_events) FROM instances GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    by: dict[str, dict[str, int]] = {}
    events: dict[str, int] = {}
    for wf, status, n, ev in rows:
        by.setdefault(str(wf), {})[str(status)] = int(n)
        events[str(wf)] = events.get(str(wf), 0) + int(ev or 0)
    return [WorkflowSummary(wf, sum(c.values()), events[wf], c) for wf, c in by.items()]


def stuck_count(store: Store, *, workflow: str | None = None) -> int:
    cond, params = ("workflow = ?", [workflow]) if workflow else ("true", [])
    row = store.con.execute(f"SELECT count(*) FROM stuck WHERE {cond}", params).fetchone()
    return int(row[0]) if row else 0


def stitch_health(store: Store) -> StitchHealth:
    """How much of the log is stitched into instances (and why not, when little is)."""
    ensure_log_views(store)
    row = store.con.execute("SELECT count(*) FROM log_events").fetchone()
    records = int(row[0]) if row else 0
    aside = 0
    if _has_table(store, "not_events"):
        row = store.con.execute("SELECT count(*) FROM not_events").fetchone()
        aside = int(row[0]) if row else 0
    # Stitched: joined with at least one other event (an instance of one event links nothing).
    row = (
        store.con.execute(
            "SELECT coalesce(sum(n_events + n_duplicates), 0) FROM instances WHERE n_events >= 2"
        ).fetchone()
        if has_derived(store)
        else None
    )
    linked = int(row[0]) if row else 0
    ruled_out = [
        (k.name, k.events, k.reason)
        for k in sorted(KeyStat.load_all(store.con), key=lambda k: -k.events)
        if not k.used_for_stitching
    ]
    return StitchHealth(records - aside, linked, aside, ruled_out)
