"""The store's tables. Raw tables are append-only; derived tables are owned by
``reconstruct`` and rebuilt or updated from the raw ones.

Bump SCHEMA_VERSION when a change is not backwards compatible and add a
migration in ``choreo.store``. A store whose version is newer than
SCHEMA_VERSION is refused (a newer choreo wrote it).
"""

from __future__ import annotations

import duckdb

SCHEMA_VERSION = 1
APP_ID = "choreo"

# Keys of choreo_meta written by reconstruction, read by the query layer.
META_FINGERPRINT = "reconstruct_fingerprint"  # what the derived tables were built from
META_NOW = "reconstruct_now_ms"  # the "now" statuses were judged against
META_WATERMARK = "reconstruct_ingested_ms"
META_FULL_EVENTS = "reconstruct_full_events"
# Bumped when the derived tables change shape: stores derived by older code
# are rebuilt, never updated in place. 2: instance_keys without the value.
META_SHAPE = "reconstruct_shape"
DERIVED_SHAPE = "2"
# instance_keys holds DuckDB's hash of each value; this probe's hash, stored
# when it was written, tells whether this DuckDB hashes the same way.
META_HASH_PROBE = "instance_keys_hash_probe"
_HASH_PROBE_TEXT = "choreo"

# Payload classification, stored in events.payload_kind.
PAYLOAD_JSON = "json"  # a JSON object or array
PAYLOAD_NULL = "null"  # no payload at all (tombstone)
# The kinds below are "poison": stored raw, flagged, never dropped.
PAYLOAD_EMPTY = "empty"  # zero bytes
PAYLOAD_TEXT = "text"  # valid UTF-8 but not JSON
PAYLOAD_BINARY = "binary"  # contains control bytes (e.g. Avro, protobuf)
PAYLOAD_INVALID_UTF8 = "invalid-utf8"  # looks like text, but is not valid UTF-8
POISON_KINDS = (PAYLOAD_EMPTY, PAYLOAD_TEXT, PAYLOAD_BINARY, PAYLOAD_INVALID_UTF8)

RAW_DDL = [
    """
    CREATE TABLE IF NOT EXISTS choreo_meta (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    )
    """,
    # One row per Kafka record; (topic, partition, offset) is its identity, so
    # replays after a crash and re-imports are absorbed by the primary key.
    """
    CREATE TABLE IF NOT EXISTS events (
        topic VARCHAR NOT NULL,
        partition INTEGER NOT NULL,
        "offset" BIGINT NOT NULL,
        ts_ms BIGINT,              -- broker timestamp, ms since epoch; NULL if unknown
        ts_type TINYINT NOT NULL,  -- 0 unknown, 1 create time, 2 log-append time
        key BLOB,
        headers STRUCT(name VARCHAR, value BLOB)[] NOT NULL,  -- in record order
        payload BLOB,              -- byte-exact; NULL for a null payload
        payload_kind VARCHAR NOT NULL,  -- see PAYLOAD_* above
        event_type VARCHAR NOT NULL,
        service VARCHAR NOT NULL,
        event_id VARCHAR,
        causation_id VARCHAR,
        trace_id VARCHAR,
        event_time_ms BIGINT,      -- time stated by the event itself (ce_time, payload)
        source VARCHAR NOT NULL,   -- who stored it: 'collect:<group>' or 'import:<file>'
        ingested_ms BIGINT NOT NULL,
        PRIMARY KEY (topic, partition, "offset")
    )
    """,
    # Every identifier an event carries: (name, value). Names are where it was
    # found (a header name, a payload path such as 'order.id', 'key'). No key
    # constraint (it made ingest several times slower): Store.append writes an
    # event's identifiers exactly once, together with the event.
    """
    CREATE TABLE IF NOT EXISTS identifiers (
        topic VARCHAR NOT NULL,
        partition INTEGER NOT NULL,
        "offset" BIGINT NOT NULL,
        name VARCHAR NOT NULL,
        value VARCHAR NOT NULL
    )
    """,
    # Committed offsets of the *services'* consumer groups, sampled read-only
    # while collecting live: tells "not consumed yet" from "consumed, no reaction".
    """
    CREATE TABLE IF NOT EXISTS group_offsets (
        group_id VARCHAR NOT NULL,
        topic VARCHAR NOT NULL,
        partition INTEGER NOT NULL,
        committed_offset BIGINT,   -- next offset the group will read; NULL if none
        high_watermark BIGINT,
        observed_ms BIGINT NOT NULL,
        PRIMARY KEY (group_id, topic, partition)
    )
    """,
    # Which consumer group (service) reads which topic, when known from the
    # cluster or config; feeds the service map.
    """
    CREATE TABLE IF NOT EXISTS topic_consumers (
        group_id VARCHAR NOT NULL,
        service VARCHAR NOT NULL,
        topic VARCHAR NOT NULL,
        source VARCHAR NOT NULL,   -- 'cluster' or 'config'
        PRIMARY KEY (group_id, topic)
    )
    """,
]

# Derived tables, owned by reconstruct/. Other parts read them and may rely
# on these columns; reconstruct may add columns but not rename or drop them.
DERIVED_DDL = [
    """
    -- instance_id is unique by construction; no index, so that a rebuild of
    -- millions of instances does not spend its time building one.
    CREATE TABLE IF NOT EXISTS instances (
        instance_id VARCHAR NOT NULL,
        workflow VARCHAR NOT NULL,
        status VARCHAR NOT NULL,   -- completed | failed | compensated | running | stuck
        label VARCHAR NOT NULL,    -- the identifier people know it by, e.g. 'orderId=4711'
        start_ms BIGINT NOT NULL,  -- first event (skew-adjusted)
        end_ms BIGINT NOT NULL,    -- last event (skew-adjusted)
        n_events INTEGER NOT NULL, -- distinct events (duplicates counted once)
        n_duplicates INTEGER NOT NULL,
        n_skewed INTEGER NOT NULL,
        first_type VARCHAR NOT NULL,
        last_type VARCHAR NOT NULL,
        last_service VARCHAR NOT NULL,
        last_topic VARCHAR NOT NULL,
        last_partition INTEGER NOT NULL,
        last_offset BIGINT NOT NULL,
        types VARCHAR[] NOT NULL,      -- distinct event types it contains
        variant INTEGER                -- its variants.rank within the workflow
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS instance_events (
        instance_id VARCHAR NOT NULL,
        topic VARCHAR NOT NULL,
        partition INTEGER NOT NULL,
        "offset" BIGINT NOT NULL,
        seq INTEGER NOT NULL,          -- position in causal order within the instance
        adj_ts_ms BIGINT NOT NULL,     -- timestamp after clock-skew adjustment
        skew_ms BIGINT NOT NULL,       -- adjustment applied (0 when none)
        parent_seq INTEGER,            -- causal parent within the instance, if known
        duplicate_of_seq INTEGER       -- set on a redelivered duplicate
        -- No primary key: (topic, partition, offset) is unique here, but
        -- indexing ten million rows on every rebuild costs more than the scans it saves.
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS model_nodes (
        workflow VARCHAR NOT NULL,
        event_type VARCHAR NOT NULL,
        count BIGINT NOT NULL,
        service VARCHAR,               -- the service that usually emits it
        is_start BOOLEAN NOT NULL,
        is_terminal BOOLEAN NOT NULL,
        kind VARCHAR NOT NULL,         -- normal | failure | compensation
        stuck_after BIGINT NOT NULL,   -- instances stuck with this as last event
        followed_share DOUBLE,         -- share of its settled occurrences followed by a next step
        PRIMARY KEY (workflow, event_type)
    )
    """,
    # Per workflow: size, declared timeout, typical step latency.
    """
    CREATE TABLE IF NOT EXISTS model_workflows (
        workflow VARCHAR PRIMARY KEY,
        instances BIGINT NOT NULL,
        timeout_ms BIGINT,             -- declared (or default) silence before stuck
        step_p99_ms DOUBLE,            -- the slowest learned step p99: fallback latency
        declared BOOLEAN NOT NULL      -- named in choreo.toml
    )
    """,
    # Steps expected once their parent step happened: fan-out branches
    # (learned) and declared steps. A finished instance missing one is stuck.
    """
    CREATE TABLE IF NOT EXISTS model_expect (
        workflow VARCHAR NOT NULL,
        parent_type VARCHAR NOT NULL,
        child_type VARCHAR NOT NULL,
        share DOUBLE NOT NULL,         -- of finished instances with the parent that had the child
        p99_ms DOUBLE,                 -- learned latency parent -> child
        service VARCHAR,               -- who emits the child
        source VARCHAR NOT NULL,       -- fan-out | declared
        PRIMARY KEY (workflow, parent_type, child_type)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS model_edges (
        workflow VARCHAR NOT NULL,
        src_type VARCHAR NOT NULL,
        dst_type VARCHAR NOT NULL,
        count BIGINT NOT NULL,
        p50_ms DOUBLE, p95_ms DOUBLE, p99_ms DOUBLE,
        kind VARCHAR NOT NULL,         -- normal | failure | compensation
        concurrent BOOLEAN NOT NULL DEFAULT false,  -- both orders seen: parallel branches
        declared BOOLEAN NOT NULL DEFAULT false,    -- from choreo.toml steps
        PRIMARY KEY (workflow, src_type, dst_type)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS variants (
        workflow VARCHAR NOT NULL,
        rank INTEGER NOT NULL,         -- 1 = most frequent
        path VARCHAR[] NOT NULL,       -- event types in order
        count BIGINT NOT NULL,
        share DOUBLE NOT NULL,
        PRIMARY KEY (workflow, rank)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS stuck (
        instance_id VARCHAR PRIMARY KEY,
        workflow VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,       -- timeout | overdue | compensation-unfinished | branch-missing
        last_type VARCHAR NOT NULL,
        last_service VARCHAR NOT NULL,
        last_topic VARCHAR NOT NULL,
        last_partition INTEGER NOT NULL,
        last_offset BIGINT NOT NULL,
        expected_types VARCHAR[] NOT NULL,
        responsible_service VARCHAR,
        silent_ms BIGINT NOT NULL,     -- now - last event
        expected_within_ms BIGINT,     -- timeout, or k x learned p99 of the next step
        overdue_ms BIGINT,
        consumer_group VARCHAR,
        consumer_state VARCHAR,        -- lagging | consumed-no-reaction | unknown
        group_lag BIGINT,
        explanation VARCHAR NOT NULL,  -- one readable sentence
        trigger_topic VARCHAR,         -- the event the responsible service should react to
        trigger_partition INTEGER,
        trigger_offset BIGINT,
        now_ms BIGINT                  -- the "now" it was judged against
    )
    """,
    # Which instance carries which identifier value, written sorted by
    # hash(value) so that a search reads one row group (see reconstruct/instance_keys.py).
    """
    CREATE TABLE IF NOT EXISTS instance_keys (
        key_hash UBIGINT NOT NULL,     -- DuckDB's hash(value); the value itself is in log_identifiers
        name VARCHAR NOT NULL,
        instance_id VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS identifier_stats (
        name VARCHAR PRIMARY KEY,
        events BIGINT NOT NULL,
        distinct_values BIGINT NOT NULL,
        mean_events_per_value DOUBLE NOT NULL,
        event_types VARCHAR[] NOT NULL,
        used_for_stitching BOOLEAN NOT NULL,
        reason VARCHAR NOT NULL
    )
    """,
]


def hash_probe(con: duckdb.DuckDBPyConnection) -> str:
    """This DuckDB's hash of a fixed text (see META_HASH_PROBE)."""
    row = con.execute("SELECT hash(?::VARCHAR)", [_HASH_PROBE_TEXT]).fetchone()
    return str(row[0]) if row else ""
