"""The store's tables, each defined once here: its DDL, its Arrow schema and
its column lists are all derived from the definition. Raw tables are
append-only; derived tables are owned by ``reconstruct`` and rebuilt or
updated from the raw ones. Other parts read the derived tables and may rely on
their columns; reconstruct may add columns but not rename or drop them.

Bump SCHEMA_VERSION when a change is not backwards compatible and add a
migration in ``choreo.core.store``. A store whose version is newer than
SCHEMA_VERSION is refused (a newer choreo wrote it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa

SCHEMA_VERSION = 1
APP_ID = "choreo"

# Keys of choreo_meta written by reconstruction, read by the query layer.
META_FINGERPRINT = "reconstruct_fingerprint"  # what the derived tables were built from
META_NOW = "reconstruct_now_ms"  # the "now" statuses were judged against
META_NOW_KIND = "reconstruct_now_kind"  # where that "now" came from: live | post-mortem | given
META_WATERMARK = "reconstruct_ingested_ms"
META_FULL_EVENTS = "reconstruct_full_events"
# Bumped when the derived tables change shape: stores derived by older code
# are rebuilt, never updated in place. 2: instance_keys without the value.
# 3: not_events; identifier_stats per link name (key@topic) with the trap evidence;
# clock_offsets, model_precedence, model_edges.share/supported. 4: both. 5: identifier_stats.trap_types
# (record keys judged per event type). 6: model_nodes.fixed_repeats; model_precedence
# latest/rank/is_cause. 8: model_nodes.paired, model_precedence.block. 9: identifier_stats.split_values.
META_SHAPE = "reconstruct_shape"
DERIVED_SHAPE = "9"
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


@dataclass(frozen=True)
class Column:
    name: str
    sql: str  # DuckDB type
    null: bool = True
    default: str | None = None
    doc: str = ""

    def ddl(self) -> str:
        text = f'"{self.name}" {self.sql}'
        if not self.null:
            text += " NOT NULL"
        if self.default is not None:
            text += f" DEFAULT {self.default}"
        return text


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def ddl(self) -> str:
        parts = [c.ddl() for c in self.columns]
        if self.primary_key:
            keys = ", ".join(f'"{k}"' for k in self.primary_key)
            parts.append(f"PRIMARY KEY ({keys})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n    " + ",\n    ".join(parts) + "\n)"

    def arrow_schema(self, *, without: tuple[str, ...] = ()) -> pa.Schema:
        """The table's columns as Arrow, in table order (``without`` some of them)."""
        import pyarrow as pa  # not at start-up: commands that only read never need it

        return pa.schema([(c.name, arrow_type(c.sql)) for c in self.columns if c.name not in without])

    def select_list(self, alias: str = "") -> str:
        """Its columns, quoted, for a SELECT or an INSERT column list."""
        prefix = f"{alias}." if alias else ""
        return ", ".join(f'{prefix}"{n}"' for n in self.names)


_SCALARS = {
    "VARCHAR": "string",
    "BLOB": "binary",
    "BOOLEAN": "bool_",
    "TINYINT": "int8",
    "INTEGER": "int32",
    "BIGINT": "int64",
    "UBIGINT": "uint64",
    "DOUBLE": "float64",
}  # SQL type -> the pyarrow factory of its Arrow type
_STRUCT = re.compile(r"STRUCT\((.*)\)")


def arrow_type(sql: str) -> pa.DataType:
    """The Arrow type of a column type of this schema, as DuckDB reads and writes it."""
    import pyarrow as pa

    sql = sql.strip()
    if sql.endswith("[]"):
        return pa.list_(arrow_type(sql[:-2]))
    struct = _STRUCT.fullmatch(sql)
    if struct:
        fields = [f.strip().split(" ", 1) for f in struct.group(1).split(",")]
        return pa.struct([(name, arrow_type(t)) for name, t in fields])
    factory: pa.DataType = getattr(pa, _SCALARS[sql])()
    return factory


# -- raw tables ---------------------------------------------------------------

CHOREO_META = Table(
    "choreo_meta",
    "Key/value facts about the store: schema version, what reconstruction last did.",
    (
        Column("key", "VARCHAR"),
        Column("value", "VARCHAR", null=False),
    ),
    primary_key=("key",),
)
EVENTS = Table(
    "events",
    (
        "One row per Kafka record; (topic, partition, offset) is its identity, so replays after a crash "
        "and re-imports are absorbed by the primary key."
    ),
    (
        Column("topic", "VARCHAR", null=False),
        Column("partition", "INTEGER", null=False),
        Column("offset", "BIGINT", null=False),
        Column("ts_ms", "BIGINT", doc="broker timestamp, ms since epoch; NULL if unknown"),
        Column("ts_type", "TINYINT", null=False, doc="0 unknown, 1 create time, 2 log-append time"),
        Column("key", "BLOB"),
        Column("headers", "STRUCT(name VARCHAR, value BLOB)[]", null=False, doc="in record order"),
        Column("payload", "BLOB", doc="byte-exact; NULL for a null payload"),
        Column("payload_kind", "VARCHAR", null=False, doc="see PAYLOAD_* above"),
        Column("event_type", "VARCHAR", null=False),
        Column("service", "VARCHAR", null=False),
        Column("event_id", "VARCHAR"),
        Column("causation_id", "VARCHAR"),
        Column("trace_id", "VARCHAR"),
        Column("event_time_ms", "BIGINT", doc="time stated by the event itself (ce_time, payload)"),
        Column("source", "VARCHAR", null=False, doc="who stored it: 'collect:<group>' or 'import:<file>'"),
        Column("ingested_ms", "BIGINT", null=False),
    ),
    primary_key=("topic", "partition", "offset"),
)
IDENTIFIERS = Table(
    "identifiers",
    (
        "Every identifier an event carries: (name, value). Names are where it was found (a header name, a"
        " payload path such as 'order.id', 'key'). No key constraint (it made ingest several times "
        "slower): Store.append writes an event's identifiers exactly once, together with the event."
    ),
    (
        Column("topic", "VARCHAR", null=False),
        Column("partition", "INTEGER", null=False),
        Column("offset", "BIGINT", null=False),
        Column("name", "VARCHAR", null=False),
        Column("value", "VARCHAR", null=False),
    ),
)
GROUP_OFFSETS = Table(
    "group_offsets",
    (
        "Committed offsets of the services' consumer groups, sampled read-only while collecting live: "
        "tells 'not consumed yet' from 'consumed, no reaction'."
    ),
    (
        Column("group_id", "VARCHAR", null=False),
        Column("topic", "VARCHAR", null=False),
        Column("partition", "INTEGER", null=False),
        Column("committed_offset", "BIGINT", doc="next offset the group will read; NULL if none"),
        Column("high_watermark", "BIGINT"),
        Column("observed_ms", "BIGINT", null=False),
    ),
    primary_key=("group_id", "topic", "partition"),
)
TOPIC_CONSUMERS = Table(
    "topic_consumers",
    (
        "Which consumer group (service) reads which topic, when known from the cluster or config; feeds "
        "the service map."
    ),
    (
        Column("group_id", "VARCHAR", null=False),
        Column("service", "VARCHAR", null=False),
        Column("topic", "VARCHAR", null=False),
        Column("source", "VARCHAR", null=False, doc="'cluster' or 'config'"),
    ),
    primary_key=("group_id", "topic"),
)


# -- derived tables, owned by reconstruct -------------------------------------

INSTANCES = Table(
    "instances",
    (
        "One row per reconstructed instance (saga). instance_id is unique by construction; no index, so "
        "that a rebuild of millions of instances does not spend its time building one."
    ),
    (
        Column("instance_id", "VARCHAR", null=False),
        Column("workflow", "VARCHAR", null=False),
        Column("status", "VARCHAR", null=False, doc="completed | failed | compensated | running | stuck"),
        Column("label", "VARCHAR", null=False, doc="the identifier people know it by, e.g. 'orderId=4711'"),
        Column("start_ms", "BIGINT", null=False, doc="first event (skew-adjusted)"),
        Column("end_ms", "BIGINT", null=False, doc="last event (skew-adjusted)"),
        Column("n_events", "INTEGER", null=False, doc="distinct events (duplicates counted once)"),
        Column("n_duplicates", "INTEGER", null=False),
        Column("n_skewed", "INTEGER", null=False),
        Column("first_type", "VARCHAR", null=False),
        Column("last_type", "VARCHAR", null=False),
        Column("last_service", "VARCHAR", null=False),
        Column("last_topic", "VARCHAR", null=False),
        Column("last_partition", "INTEGER", null=False),
        Column("last_offset", "BIGINT", null=False),
        Column("types", "VARCHAR[]", null=False, doc="distinct event types it contains"),
        Column("variant", "INTEGER", doc="its variants.rank within the workflow"),
        Column(
            "last_repeats",
            "INTEGER",
            null=False,
            default="1",
            doc="events of its last type it holds (a repeat may be what comes next: a lifecycle's complete)",
        ),
    ),
)
INSTANCE_EVENTS = Table(
    "instance_events",
    (
        "Which events an instance holds, in causal order. (topic, partition, offset) is unique here, but "
        "no primary key: indexing ten million rows on every rebuild costs more than the scans it saves."
    ),
    (
        Column("instance_id", "VARCHAR", null=False),
        Column("topic", "VARCHAR", null=False),
        Column("partition", "INTEGER", null=False),
        Column("offset", "BIGINT", null=False),
        Column("seq", "INTEGER", null=False, doc="position in causal order within the instance"),
        Column("adj_ts_ms", "BIGINT", null=False, doc="timestamp after clock-skew adjustment"),
        Column(
            "skew_ms",
            "BIGINT",
            null=False,
            doc=(
                "adj_ts_ms - ts_ms: its producer's clock offset (clock_offsets.applied_ms) plus any move "
                "after the event it must follow (0 when none)"
            ),
        ),
        Column("parent_seq", "INTEGER", doc="causal parent within the instance, if known"),
        Column("duplicate_of_seq", "INTEGER", doc="set on a redelivered duplicate"),
    ),
)
MODEL_NODES = Table(
    "model_nodes",
    "The learned model per workflow: its event types.",
    (
        Column("workflow", "VARCHAR", null=False),
        Column("event_type", "VARCHAR", null=False),
        Column("count", "BIGINT", null=False),
        Column("service", "VARCHAR", doc="the service that usually emits it"),
        Column("is_start", "BOOLEAN", null=False),
        Column("is_terminal", "BOOLEAN", null=False),
        Column("kind", "VARCHAR", null=False, doc="normal | failure | compensation"),
        Column("stuck_after", "BIGINT", null=False, doc="instances stuck with this as last event"),
        Column("followed_share", "DOUBLE", doc="share of its settled occurrences followed by a next step"),
        Column("repeats", "DOUBLE", doc="events of this type per instance holding it (median)"),
        Column(
            "fixed_repeats",
            "BOOLEAN",
            null=False,
            default="false",
            doc="that many in (nearly) every instance holding it: a lifecycle's start and complete",
        ),
        Column(
            "paired",
            "BOOLEAN",
            null=False,
            default="false",
            doc="an even number in (nearly) every instance holding it, not a fixed one: "
            "a lifecycle's start and complete inside a loop",
        ),
    ),
    primary_key=("workflow", "event_type"),
)
MODEL_WORKFLOWS = Table(
    "model_workflows",
    "Per workflow: size, declared timeout, typical step latency.",
    (
        Column("workflow", "VARCHAR"),
        Column("instances", "BIGINT", null=False),
        Column("timeout_ms", "BIGINT", doc="declared (or default) silence before stuck"),
        Column("step_p99_ms", "DOUBLE", doc="the slowest learned step p99: fallback latency"),
        Column("declared", "BOOLEAN", null=False, doc="named in choreo.toml"),
    ),
    primary_key=("workflow",),
)
MODEL_EXPECT = Table(
    "model_expect",
    (
        "Steps expected once their parent step happened: fan-out branches (learned) and declared steps. A"
        " finished instance missing one is stuck."
    ),
    (
        Column("workflow", "VARCHAR", null=False),
        Column("parent_type", "VARCHAR", null=False),
        Column("child_type", "VARCHAR", null=False),
        Column("share", "DOUBLE", null=False, doc="of finished instances with the parent that had the child"),
        Column("p99_ms", "DOUBLE", doc="learned latency parent -> child"),
        Column("service", "VARCHAR", doc="who emits the child"),
        Column("source", "VARCHAR", null=False, doc="fan-out | declared"),
        Column(
            "past",
            "VARCHAR[]",
            null=False,
            default="[]",
            doc=(
                "types that come after the child: an instance holding one has moved past it (empty: a "
                "parallel branch, missing whenever the parent happened and it did not)"
            ),
        ),
    ),
    primary_key=("workflow", "parent_type", "child_type"),
)
MODEL_LINKS = Table(
    "model_links",
    (
        "Per workflow and pair of event types: in how many instances holding both their events share an"
        " identifier value or one names the other as its cause. An instance whose beginning was cut by"
        " retention is not judged stuck waiting for a type that could not join it."
    ),
    (
        Column("workflow", "VARCHAR", null=False),
        Column("type_a", "VARCHAR", null=False, doc="the first of the two types, by name"),
        Column("type_b", "VARCHAR", null=False),
        Column("together", "BIGINT", null=False, doc="sampled instances holding both"),
        Column("linked", "BIGINT", null=False, doc="... of them where the two are tied directly"),
    ),
    primary_key=("workflow", "type_a", "type_b"),
)
MODEL_EDGES = Table(
    "model_edges",
    "The learned model per workflow: directly-follows edges with latencies.",
    (
        Column("workflow", "VARCHAR", null=False),
        Column("src_type", "VARCHAR", null=False),
        Column("dst_type", "VARCHAR", null=False),
        Column("count", "BIGINT", null=False),
        Column("p50_ms", "DOUBLE", doc="latency: clock offsets corrected, outage delays left out"),
        Column("p95_ms", "DOUBLE"),
        Column("p99_ms", "DOUBLE"),
        Column("kind", "VARCHAR", null=False, doc="normal | failure | compensation"),
        Column(
            "concurrent",
            "BOOLEAN",
            null=False,
            default="false",
            doc="parallel branches: both orders of their first events common (a loop's repeats do not count)",
        ),
        Column("declared", "BOOLEAN", null=False, default="false", doc="from choreo.toml steps"),
        Column("share", "DOUBLE", null=False, default="0", doc="of the source type's occurrences it follows"),
        Column(
            "supported",
            "BOOLEAN",
            null=False,
            default="false",
            doc="a step, not noise: share and count above the thresholds, not concurrent (or declared)",
        ),
        Column(
            "next_step",
            "BOOLEAN",
            null=False,
            default="false",
            doc="expected next after its source: the main step, its alternatives, a repeat (or declared)",
        ),
    ),
    primary_key=("workflow", "src_type", "dst_type"),
)
CLOCK_OFFSETS = Table(
    "clock_offsets",
    (
        "Each producer's clock offset as reconstruction estimated it from the data: an effect cannot "
        "precede its cause, so every cause-effect pair of event types from two services bounds their "
        "offset difference (reconstruct/engine/precedence.py). Only services with an offset or a warning."
    ),
    (
        Column("service", "VARCHAR"),
        Column("estimate_ms", "BIGINT", null=False, doc="how far its clock runs ahead (negative: behind)"),
        Column(
            "applied_ms",
            "BIGINT",
            null=False,
            doc="subtracted from its timestamps: 0 when weak, capped at reconstruct.max_clock_offset",
        ),
        Column("pairs", "BIGINT", null=False, doc="cause-effect pairs of event types bounding it"),
        Column("status", "VARCHAR", null=False, doc="ok | weak (too few pairs) | capped | conflict"),
    ),
    primary_key=("service",),
)
MODEL_PRECEDENCE = Table(
    "model_precedence",
    (
        "Learned precedence per workflow: which event type comes right before which, oriented by the most "
        "certain evidence available."
    ),
    (
        Column("workflow", "VARCHAR", null=False),
        Column("parent_type", "VARCHAR", null=False),
        Column("child_type", "VARCHAR", null=False),
        Column("support", "BIGINT", null=False, doc="sampled instances holding both"),
        Column("share", "DOUBLE", null=False, doc="of them with the parent first, clock offsets applied"),
        Column(
            "evidence",
            "VARCHAR",
            null=False,
            doc="causation-or-position | clock | structure | shape | timestamps | dependency | implied",
        ),
        Column(
            "enforced",
            "BOOLEAN",
            null=False,
            doc=(
                "the corrected times disagreed in some sampled instance (the link changes an order "
                "there); every link is an order constraint on the instances holding the parent type once"
            ),
        ),
        Column(
            "latest",
            "BOOLEAN",
            null=False,
            default="true",
            doc="right before the child (each applies); else a fallback for instances holding none of those",
        ),
        Column("rank", "INTEGER", null=False, default="0", doc="of a fallback: the first one held applies"),
        Column("is_cause", "BOOLEAN", null=False, default="false", doc="the parent type is its cause"),
        Column(
            "block",
            "BOOLEAN",
            null=False,
            default="false",
            doc="the cause comes a fixed number of times (a lifecycle's start and complete): "
            "the child's first event follows the cause's last",
        ),
    ),
    primary_key=("workflow", "parent_type", "child_type"),
)
VARIANTS = Table(
    "variants",
    "Per workflow: its distinct paths, most frequent first.",
    (
        Column("workflow", "VARCHAR", null=False),
        Column("rank", "INTEGER", null=False, doc="1 = most frequent"),
        Column("path", "VARCHAR[]", null=False, doc="event types in order"),
        Column("count", "BIGINT", null=False),
        Column("share", "DOUBLE", null=False),
    ),
    primary_key=("workflow", "rank"),
)
STUCK = Table(
    "stuck",
    "Stuck instances with their explanation: whose move it is and how overdue.",
    (
        Column("instance_id", "VARCHAR"),
        Column("workflow", "VARCHAR", null=False),
        Column(
            "reason",
            "VARCHAR",
            null=False,
            doc="timeout | overdue | compensation-unfinished | branch-missing | service-silent",
        ),
        Column("last_type", "VARCHAR", null=False),
        Column("last_service", "VARCHAR", null=False),
        Column("last_topic", "VARCHAR", null=False),
        Column("last_partition", "INTEGER", null=False),
        Column("last_offset", "BIGINT", null=False),
        Column("expected_types", "VARCHAR[]", null=False),
        Column("responsible_service", "VARCHAR"),
        Column("silent_ms", "BIGINT", null=False, doc="now - last event"),
        Column("expected_within_ms", "BIGINT", doc="timeout, or k x learned p99 of the next step"),
        Column("overdue_ms", "BIGINT"),
        Column("consumer_group", "VARCHAR"),
        Column("consumer_state", "VARCHAR", doc="lagging | consumed-no-reaction | unknown"),
        Column("group_lag", "BIGINT"),
        Column("explanation", "VARCHAR", null=False, doc="one readable sentence"),
        Column("trigger_topic", "VARCHAR", doc="the event the responsible service should react to"),
        Column("trigger_partition", "INTEGER"),
        Column("trigger_offset", "BIGINT"),
        Column("now_ms", "BIGINT", doc='the "now" it was judged against'),
    ),
    primary_key=("instance_id",),
)
INSTANCE_KEYS = Table(
    "instance_keys",
    (
        "Which instance carries which identifier value, written sorted by hash(value) so that a search "
        "reads one row group (see reconstruct/engine/instance_keys.py)."
    ),
    (
        Column(
            "key_hash",
            "UBIGINT",
            null=False,
            doc="DuckDB's hash(value); the value itself is in log_identifiers",
        ),
        Column("name", "VARCHAR", null=False),
        Column("instance_id", "VARCHAR", null=False),
    ),
)
IDENTIFIER_STATS = Table(
    "identifier_stats",
    "Per identifier name: how often it occurs and whether stitching used it (and why not).",
    (
        Column("name", "VARCHAR"),
        Column("events", "BIGINT", null=False),
        Column("distinct_values", "BIGINT", null=False),
        Column("mean_events_per_value", "DOUBLE", null=False),
        Column("event_types", "VARCHAR[]", null=False),
        Column("used_for_stitching", "BOOLEAN", null=False),
        Column("reason", "VARCHAR", null=False),
        Column("values_checked", "BIGINT", null=False, default="0", doc="trap rule: values looked at"),
        Column("merging", "BIGINT", null=False, default="0", doc="... of them joining several instances"),
        Column("instances_per_value", "DOUBLE", null=False, default="0", doc="... instances per value"),
        Column(
            "found_by",
            "VARCHAR",
            doc="how a payload field was found by its values: 'value' (identifiers), "
            "'causation' (other events' ids), 'event id' (ids other events name as their cause)",
        ),
        Column("matches", "VARCHAR", doc="... the identifier whose values it carries"),
        Column("match_share", "DOUBLE", doc="... share of its sampled values found there"),
        Column("namespace", "VARCHAR", doc="the name a numeric value is read as (record keys, found fields)"),
        Column(
            "trap_types",
            "VARCHAR[]",
            doc="a record key: the event types whose key is left out (it would merge instances there)",
        ),
        Column(
            "split_values",
            "UBIGINT[]",
            doc="link values of a stitching name left out one by one (each would merge instances)",
        ),
    ),
    primary_key=("name",),
)
NOT_EVENTS = Table(
    "not_events",
    (
        "Records that are not events (tombstones, empty or unparseable payloads, JSON without an event type):"
        " never in an instance or the model; listed beside the instance whose identifier (usually the record"
        " key) they carry."
    ),
    (
        Column("topic", "VARCHAR", null=False),
        Column("partition", "INTEGER", null=False),
        Column("offset", "BIGINT", null=False),
        Column(
            "reason",
            "VARCHAR",
            null=False,
            doc="tombstone | empty payload | not JSON (text) | ... | no event type",
        ),
        Column("instance_id", "VARCHAR", doc="the instance whose value it carries, if any"),
    ),
)

RAW_TABLES = (CHOREO_META, EVENTS, IDENTIFIERS, GROUP_OFFSETS, TOPIC_CONSUMERS)
DERIVED_TABLES = (
    INSTANCES,
    INSTANCE_EVENTS,
    MODEL_NODES,
    MODEL_WORKFLOWS,
    MODEL_EXPECT,
    MODEL_EDGES,
    MODEL_LINKS,
    CLOCK_OFFSETS,
    MODEL_PRECEDENCE,
    VARIANTS,
    STUCK,
    INSTANCE_KEYS,
    IDENTIFIER_STATS,
    NOT_EVENTS,
)
RAW_DDL = [t.ddl() for t in RAW_TABLES]
DERIVED_DDL = [t.ddl() for t in DERIVED_TABLES]
DERIVED_BY_NAME = {t.name: t for t in DERIVED_TABLES}


def hash_probe(con: duckdb.DuckDBPyConnection) -> str:
    """This DuckDB's hash of a fixed text (see META_HASH_PROBE)."""
    row = con.execute("SELECT hash(?::VARCHAR)", [_HASH_PROBE_TEXT]).fetchone()
    return str(row[0]) if row else ""
