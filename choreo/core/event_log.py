"""The event log as one set of relations, over one store or several.

Reconstruction and the read helpers never name the raw tables directly; they
read the temporary views ``log_events``, ``log_identifiers``,
``log_group_offsets`` and ``log_topic_consumers``. Over one store they are
plain aliases of its tables. ``attach_stores`` makes them the union of
several stores (collectors sharing a consumer group each write their own
shard): the other files are ATTACHed read-only, and a record present in two
shards (a partition that moved during a rebalance) counts once. Derived
tables are always written into the store that was opened writable (the
first ``--db``, or ``--out``), never into the attached ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from choreo.core.errors import StoreError
from choreo.core.snapshot import attach_for_reading, open_for_reading
from choreo.core.store import Store

RAW = ("events", "identifiers", "group_offsets", "topic_consumers")
# The primary key of each raw table: duplicates across shards collapse on it.
_KEYS = {
    "events": 'topic, partition, "offset"',
    "identifiers": 'topic, partition, "offset", name, value',
    "group_offsets": "group_id, topic, partition",
    "topic_consumers": "group_id, topic",
}


def _has_log_views(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = 'log_events'"
    ).fetchone()
    return bool(row and row[0])


def ensure_log_views(store: Store) -> None:
    """Create the log views over this store alone, unless already defined."""
    if _has_log_views(store.con):
        return
    for table in RAW:
        store.con.execute(f"CREATE OR REPLACE TEMP VIEW log_{table} AS SELECT * FROM main.{table}")


def attached_aliases(store: Store) -> list[str]:
    """The aliases of the shards attached with ``attach_stores``."""
    rows = store.con.execute(
        "SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'shard\\_%' ESCAPE '\\' "
        "ORDER BY database_name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def attach_stores(store: Store, others: Sequence[str | Path]) -> None:
    """Read ``others`` together with ``store`` as one event log (read-only)."""
    aliases = ["main"]
    for i, path in enumerate(others):
        p = Path(path)
        if not p.exists():
            raise StoreError(f"{p} does not exist")
        if p.resolve() == store.path.resolve():
            continue
        alias = f"shard_{i + 1}"
        # Opening it on its own first gives the same one-line causes as --db
        # (not a store, newer version, locked) before it is attached; while
        # another process writes it, its newest snapshot is read instead.
        try:
            attach_for_reading(store.con, p, alias)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {p}: {str(exc).splitlines()[0]}") from None
        aliases.append(alias)
    for table in RAW:
        if len(aliases) == 1:
            body = f"SELECT * FROM main.{table}"
        else:
            union = " UNION ALL ".join(f"SELECT * FROM {a}.{table}" for a in aliases)
            # The same record collected by two shards is one record.
            body = f"SELECT * FROM ({union}) QUALIFY row_number() OVER (PARTITION BY {_KEYS[table]}) = 1"
        store.con.execute(f"CREATE OR REPLACE TEMP VIEW log_{table} AS {body}")


def open_log(
    paths: Sequence[str | Path],
    *,
    out: str | Path | None = None,
    read_only: bool = False,
    snapshots: bool = True,
) -> Store:
    """Open several store files as one log.

    The returned store is ``out`` (created if needed) or else the first path;
    it receives the derived tables. The remaining files are attached read-only.
    With ``snapshots``, a first path that another process is writing is read
    from that process's snapshot (a private copy: see ``core.snapshot``).
    """
    if not paths:
        raise StoreError("no store given")
    # Reading commands must not create an empty store from a mistyped --db.
    for p in paths:
        if not Path(p).exists():
            raise StoreError(f"{p} does not exist (no such store; collect or import into it first)")
    target = Path(out) if out is not None else Path(paths[0])
    rest = [p for p in paths if out is not None or Path(p) != target]
    if out is None and snapshots:
        store = open_for_reading(target, writable=not read_only)
    else:
        store = Store.open(target, read_only=read_only)
    try:
        attach_stores(store, rest)
    except BaseException:
        store.close()
        raise
    return store
