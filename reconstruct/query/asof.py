"""The one notion of "now" every command and the dashboard judge against,
and whether the derived tables are current: answered with a query or two,
without importing the engine (commands on an up-to-date store start fast).

"now" is, in this order: the time given with ``--now``; the newest event's
time when every event came from an import (a dump is judged as of when it
was taken: post-mortem); else the wall clock (live). Whoever judges records
the kind beside the time (``META_NOW_KIND``) so that every reader can say
which "now" the stored statuses are as of.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from enum import StrEnum

import duckdb

from choreo.core.config import ChoreoConfig
from choreo.core.event_log import ensure_log_views
from choreo.core.schema import DERIVED_SHAPE, META_FINGERPRINT, META_NOW, META_NOW_KIND, META_SHAPE
from choreo.core.store import Store
from choreo.core.timefmt import timestamp


class NowKind(StrEnum):
    LIVE = "live"  # the wall clock: data collected from a running cluster
    POST_MORTEM = "post-mortem"  # the newest event: every event came from a dump
    GIVEN = "given"  # --now


@dataclass(frozen=True, slots=True)
class AsOf:
    """A "now" and where it came from."""

    ms: int
    kind: NowKind

    def describe(self) -> str:
        """``as of 2024-05-01 12:03:04 UTC, live`` and the like: one phrase for every output."""
        stamp = timestamp(self.ms)
        # A time no calendar shows stays as the producer stamped it.
        when = stamp if stamp.startswith("epoch") else stamp[:19] + " UTC"
        if self.kind is NowKind.LIVE:
            return f"as of {when}, live"
        if self.kind is NowKind.POST_MORTEM:
            return f"as of the newest event, {when} (post-mortem)"
        return f"as of {when} (--now)"


@dataclass(frozen=True, slots=True)
class LogFacts:
    events: int
    newest_ingested: int | None
    newest_ts: int | None
    all_imported: bool


def log_facts(con: duckdb.DuckDBPyConnection) -> LogFacts:
    """What "now" and staleness depend on, in one scan of the log's metadata."""
    row = con.execute(
        "SELECT count(*), max(ingested_ms), max(coalesce(ts_ms, event_time_ms)), "
        "bool_and(starts_with(source, 'import:')) FROM log_events"
    ).fetchall()[0]
    return LogFacts(int(row[0]), row[1], row[2], bool(row[3]))


def now_of(facts: LogFacts, given_ms: int | None = None, *, wall_ms: int | None = None) -> AsOf:
    """The "now" to judge a log with these facts against (see the module docstring)."""
    if given_ms is not None:
        return AsOf(int(given_ms), NowKind.GIVEN)
    if facts.all_imported and facts.newest_ts is not None:
        return AsOf(int(facts.newest_ts), NowKind.POST_MORTEM)
    return AsOf(int(time.time() * 1000) if wall_ms is None else wall_ms, NowKind.LIVE)


def resolve_now(store: Store, given_ms: int | None = None) -> AsOf:
    ensure_log_views(store)
    return now_of(log_facts(store.con), given_ms)


def judged_as_of(store: Store) -> AsOf | None:
    """The "now" the stored statuses were judged against; None if never judged."""
    rows = store.con.execute(
        "SELECT key, value FROM choreo_meta WHERE key IN (?, ?)", [META_NOW, META_NOW_KIND]
    ).fetchall()
    meta = {str(k): str(v) for k, v in rows}
    if META_NOW not in meta:
        return None
    try:
        kind = NowKind(meta.get(META_NOW_KIND, NowKind.LIVE.value))
    except ValueError:
        kind = NowKind.LIVE  # written by a newer choreo: the time is still right
    return AsOf(int(meta[META_NOW]), kind)


def record_as_of(store: Store, as_of: AsOf) -> None:
    """Say which "now" the statuses just judged are as of (the engine stores the time)."""
    store.set_meta(META_NOW, str(as_of.ms))
    store.set_meta(META_NOW_KIND, as_of.kind.value)


def fingerprint_of(store: Store, config: ChoreoConfig, facts: LogFacts) -> str:
    """Changes when the raw log (any of the stores read) or the config changes."""
    dbs = ",".join(
        str(r[0])
        for r in store.con.execute(
            # The other stores read (shards), not this one's own path: a copy of a
            # store (a reader's private copy of a snapshot) is as current as its original.
            "SELECT path FROM duckdb_databases() WHERE NOT internal AND path IS NOT NULL "
            "AND database_name <> current_database() ORDER BY path"
        ).fetchall()
    )
    cfg = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
    return f"{facts.events}:{facts.newest_ingested or 0}:{cfg}:{dbs}"


def fingerprint(store: Store, config: ChoreoConfig) -> str:
    ensure_log_views(store)
    return fingerprint_of(store, config, log_facts(store.con))


def is_stale(store: Store, config: ChoreoConfig) -> bool:
    """True when the derived tables were not built from this log and config."""
    return store.get_meta(META_SHAPE) != DERIVED_SHAPE or store.get_meta(META_FINGERPRINT) != fingerprint(
        store, config
    )
