"""What choreo's OCEL 2.0 export holds, as temporary relations in DuckDB.

- Events: one per distinct event of the exported instances (a redelivered
  duplicate once), id ``topic/partition/offset``, type the event type, time
  the skew-adjusted time; attributes service, topic, partition, offset, the
  instance id and the instance's status.
- Objects: one per identifier value the exported events carry. The type is
  the identifier's name without scope and id suffix (``orderId``,
  ``order.id``, ``order_id``, ``orderRef.orderId`` -> ``order``); a text value
  found under several names (the record key, a correlation header, a payload
  field) is one object, named after where it was found: a payload field
  before a header, the record key or the trace id, then the most common
  name; a numeric value is one object per type, as stitching
  namespaces it. Id ``type=value``. Attribute ``role``: ``identifier`` when
  stitching used it, ``shared attribute`` when it was ruled out (a customer,
  a tenant; ``reason`` says why).
- Each instance is an object too: type ``saga:<workflow>``, id the instance
  id, related to every one of its events (qualifier ``instance``), so that
  flattening on it gives the XES cases.
- Event-to-object relations: one per event and object, qualified by where
  the id came from: ``payload:orderId``, ``header:correlation-id``, ``key``,
  ``header:traceparent`` (a payload field first when several carried it).
- Object-to-object relations, ``belongs to``, from the links stitching used:
  an identifier object belongs to the earliest object (first seen, business
  names before transport ones) that an event carried together with it
  (a shipment id first seen beside an order id belongs to that order).

Everything is computed by DuckDB in temporary tables of the store's
connection (spilled to disk when large); writers stream from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType

import duckdb
import pyarrow as pa

from choreo.core.event_log import ensure_log_views
from choreo.core.store import Store
from choreo.reconstruct.export.selection import InstanceFilter
from choreo.reconstruct.query.read import key_stats

SAGA_PREFIX = "saga:"
QUALIFIER_INSTANCE = "instance"
QUALIFIER_BELONGS = "belongs to"
ROLE_IDENTIFIER = "identifier"
ROLE_SHARED = "shared attribute"
# Attributes: (name, OCEL type, SQL for the value over the relation read:
# _ocel_events, _ocel_objects or _ocel_inst), in the order they are written.
# A NULL value is left out.
Attribute = tuple[str, str, str]
EVENT_ATTRIBUTES: tuple[Attribute, ...] = (
    ("service", "string", "service"),
    ("topic", "string", "topic"),
    ("partition", "integer", "partition"),
    ("offset", "integer", '"offset"'),
    ("instance", "string", "instance_id"),
    ("status", "string", "status"),
)
IDENTIFIER_ATTRIBUTES: tuple[Attribute, ...] = (
    ("value", "string", "value"),
    ("role", "string", f"CASE WHEN used THEN '{ROLE_IDENTIFIER}' ELSE '{ROLE_SHARED}' END"),
    ("reason", "string", "reason"),
)
SAGA_ATTRIBUTES: tuple[Attribute, ...] = (("status", "string", "status"), ("label", "string", "label"))
# The time of an object's attributes: they do not change (OCEL's convention
# for static attributes is the epoch).
STATIC_TIME = "1970-01-01T00:00:00Z"

# SQL for an event's id from its coordinates (columns of the relation read).
EVENT_ID = "(topic || '/' || partition || '/' || \"offset\")"

_ID_WORDS = ("uuid", "id")
_PREFIXES = ("x-", "ce_", "ce-")
_SCOPES = ("data", "payload")
_TEMP = (
    "_ocel_inst",
    "_ocel_ids",
    "_ocel_names",
    "_ocel_keyalias",
    "_ocel_objects",
    "_ocel_rel",
    "_ocel_o2o",
)
_VIEWS = ("_ocel_ev", "_ocel_events", "_ocel_idv")


def _word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def object_type(name: str) -> str:
    """The object type an identifier name stands for: ``orderId``, ``order.id``,
    ``data.order_id``, ``orderRef.orderId`` -> ``order``; ``trace_id`` ->
    ``trace``; ``x-correlation-id`` -> ``correlation``; ``key`` -> ``key``."""
    parts = [p for p in name.split(".") if p] or [name]
    if len(parts) > 1 and parts[0].lower() in _SCOPES:
        parts = parts[1:]
    leaf = parts[-1].lower()
    for prefix in _PREFIXES:
        if leaf.startswith(prefix) and len(leaf) > len(prefix):
            leaf = leaf[len(prefix) :]
            break
    word = _word(leaf)
    if word in _ID_WORDS and len(parts) > 1:
        word = _word(parts[-2])
    for suffix in _ID_WORDS:
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[: -len(suffix)]
            break
    return word or _word(name) or "id"


@dataclass(frozen=True)
class OcelTypes:
    """The declared types, sorted."""

    event_types: list[str]
    identifier_types: list[str]
    saga_types: list[str]

    @property
    def object_types(self) -> list[str]:
        return self.identifier_types + self.saga_types


@dataclass(frozen=True)
class OcelCounts:
    events: int
    objects: int
    e2o: int  # event-to-object relations, the instance ones included
    o2o: int


class OcelModel:
    """The export's relations over one store and filter; ``with`` builds them
    and drops them after."""

    def __init__(self, store: Store, flt: InstanceFilter | None = None) -> None:
        self.store = store
        self.flt = flt or InstanceFilter()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.store.con

    def __enter__(self) -> OcelModel:
        self.flt.check(self.store)
        ensure_log_views(self.store)
        self.drop()
        try:
            self._build()
        except BaseException:
            self.drop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.drop()

    def drop(self) -> None:
        for view in _VIEWS:
            self.con.execute(f"DROP VIEW IF EXISTS {view}")
        for table in _TEMP:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")

    def _build(self) -> None:
        con = self.con
        cond, params = self.flt.sql()
        con.execute(
            "CREATE TEMP TABLE _ocel_inst AS SELECT instance_id, workflow, status, label, start_ms "
            f"FROM instances WHERE {cond}",
            params,
        )
        con.execute(
            """
            CREATE TEMP VIEW _ocel_ev AS
            SELECT ie.instance_id, ie.topic, ie.partition, ie."offset", ie.seq, ie.adj_ts_ms
            FROM instance_events ie SEMI JOIN _ocel_inst USING (instance_id)
            WHERE ie.duplicate_of_seq IS NULL
            """
        )
        con.execute(
            f"""
            CREATE TEMP VIEW _ocel_events AS
            SELECT {EVENT_ID} AS eid, e.event_type, ev.adj_ts_ms, e.service, topic, partition, "offset",
                   ev.instance_id, i.status, ev.seq
            FROM _ocel_ev ev
            JOIN log_events e USING (topic, partition, "offset")
            JOIN _ocel_inst i USING (instance_id)
            """
        )
        # Every identifier of an exported event, with where it came from: a
        # name the record also has as a header was read from that header.
        con.execute(
            """
            CREATE TEMP TABLE _ocel_ids AS
            SELECT *,
                   -- Business fields first, transport last: for naming an
                   -- object's type and the qualifier of its relation.
                   CASE WHEN qualifier LIKE '%:traceparent' THEN 3 WHEN qualifier = 'key' THEN 2
                        WHEN qualifier LIKE 'header:%' THEN 1 ELSE 0 END AS src_rank
            FROM (
                SELECT topic, partition, "offset", ev.adj_ts_ms, d.name, d.value,
                       regexp_full_match(d.value, '[0-9]+') AS num,
                       CASE WHEN d.name = 'key' THEN 'key'
                            WHEN d.name = 'trace_id' THEN
                                CASE WHEN list_has_any(h.names, ['traceparent', 'ce_traceparent'])
                                     THEN 'header:traceparent' ELSE 'payload:traceparent' END
                            WHEN list_contains(h.names, d.name) THEN 'header:' || d.name
                            ELSE 'payload:' || d.name END AS qualifier
                FROM _ocel_ev ev
                JOIN log_identifiers d USING (topic, partition, "offset")
                JOIN (
                    SELECT topic, partition, "offset",
                           list_transform(headers, lambda x: lower(x.name)) AS names
                    FROM log_events
                ) h USING (topic, partition, "offset")
            )
            """
        )
        self._names()
        # A numeric record key is the identifier it usually equals on its
        # topic (as stitching reads it).
        con.execute(
            """
            CREATE TEMP TABLE _ocel_keyalias AS
            SELECT topic, n.otype FROM (
                SELECT k.topic, o.name, count(*) AS votes
                FROM _ocel_ids k JOIN _ocel_ids o USING (topic, partition, "offset", value)
                WHERE k.name = 'key' AND k.num AND o.name <> 'key'
                GROUP BY ALL
            ) v JOIN _ocel_names n USING (name)
            QUALIFY row_number() OVER (PARTITION BY topic ORDER BY votes DESC, name) = 1
            """
        )
        # gtype: the namespace of a numeric value ('' for text, which links
        # across names).
        con.execute(
            """
            CREATE TEMP VIEW _ocel_idv AS
            SELECT d.*, n.otype AS name_type, n.used, n.reason, n.events,
                   CASE WHEN NOT d.num THEN ''
                        WHEN d.name = 'key' THEN coalesce(ka.otype, n.otype)
                        ELSE n.otype END AS gtype
            FROM _ocel_ids d JOIN _ocel_names n USING (name) LEFT JOIN _ocel_keyalias ka USING (topic)
            """
        )
        con.execute(
            """
            CREATE TEMP TABLE _ocel_objects AS
            SELECT *, otype || '=' || value AS oid,
                   row_number() OVER (ORDER BY first_ms, grp, otype || '=' || value) AS rank
            FROM (
                SELECT gtype, value,
                       CASE WHEN gtype <> '' THEN gtype
                            ELSE arg_min(name_type, (src_rank, -events, name)) END AS otype,
                       bool_or(used) AS used,
                       CASE WHEN bool_or(used) THEN NULL
                            ELSE arg_min(reason, (src_rank, -events, name)) END AS reason,
                       min(src_rank) AS grp,
                       min(adj_ts_ms) AS first_ms
                FROM _ocel_idv GROUP BY gtype, value
            )
            """
        )
        con.execute(
            """
            CREATE TEMP TABLE _ocel_rel AS
            SELECT topic, partition, "offset", o.oid,
                   arg_min(v.qualifier, (v.src_rank, v.qualifier)) AS qualifier
            FROM _ocel_idv v JOIN _ocel_objects o USING (gtype, value)
            GROUP BY topic, partition, "offset", o.oid
            """
        )
        con.execute(
            """
            CREATE TEMP TABLE _ocel_o2o AS
            WITH s AS (
                SELECT r.topic, r.partition, r."offset", o.oid, o.rank
                FROM _ocel_rel r JOIN _ocel_objects o USING (oid) WHERE o.used
            )
            SELECT a.oid AS source, arg_min(b.oid, b.rank) AS target
            FROM s a JOIN s b USING (topic, partition, "offset")
            WHERE b.rank < a.rank
            GROUP BY a.oid
            """
        )
        # Only the build needs every identifier row: free its memory for the writers.
        con.execute("DROP VIEW _ocel_idv")
        con.execute("DROP TABLE _ocel_ids")

    def _names(self) -> None:
        """``_ocel_names``: per identifier name its object type, whether stitching
        used it (and why not) and how many events carry it."""
        names = [str(r[0]) for r in self.con.execute("SELECT DISTINCT name FROM _ocel_ids").fetchall()]
        stats = {s.name: s for s in key_stats(self.store)}
        rows: dict[str, list[object]] = {k: [] for k in ("name", "otype", "used", "reason", "events")}
        for name in names:
            st = stats.get(name)
            events = st.events if st else 0
            rows["name"].append(name)
            rows["otype"].append(object_type(name))
            rows["used"].append(bool(st and st.used_for_stitching))
            rows["reason"].append(st.reason if st else "not analysed by the last reconstruction")
            rows["events"].append(events)
        table = pa.table(
            rows,
            schema=pa.schema(
                [
                    ("name", pa.string()),
                    ("otype", pa.string()),
                    ("used", pa.bool_()),
                    ("reason", pa.string()),
                    ("events", pa.int64()),
                ]
            ),
        )
        self.con.register("_ocel_names_src", table)
        try:
            self.con.execute("CREATE TEMP TABLE _ocel_names AS SELECT * FROM _ocel_names_src")
        finally:
            self.con.unregister("_ocel_names_src")

    def types(self) -> OcelTypes:
        con = self.con
        return OcelTypes(
            [
                str(r[0])
                for r in con.execute("SELECT DISTINCT event_type FROM _ocel_events ORDER BY 1").fetchall()
            ],
            [
                str(r[0])
                for r in con.execute("SELECT DISTINCT otype FROM _ocel_objects ORDER BY 1").fetchall()
            ],
            [
                SAGA_PREFIX + str(r[0])
                for r in con.execute("SELECT DISTINCT workflow FROM _ocel_inst ORDER BY 1").fetchall()
            ],
        )

    def counts(self) -> OcelCounts:
        def one(sql: str) -> int:
            row = self.con.execute(sql).fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        # Counted after the join with the records: a record of a shard not
        # attached now is not exported.
        events = one("SELECT count(*) FROM _ocel_events")
        return OcelCounts(
            events=events,
            objects=one("SELECT count(*) FROM _ocel_objects") + one("SELECT count(*) FROM _ocel_inst"),
            e2o=one("SELECT count(*) FROM _ocel_rel") + events,
            o2o=one("SELECT count(*) FROM _ocel_o2o"),
        )
