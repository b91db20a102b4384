"""The query layer's record types: what the CLI, the dashboard, exports and
reports get back from ``choreo.reconstruct.query.read``. Defined once here;
every consumer imports them (the engine too, for the rows it stores).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

import duckdb


class Status(StrEnum):
    """An instance's status (a ``str``: compares and prints as its value)."""

    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATED = "compensated"
    RUNNING = "running"
    STUCK = "stuck"


# Outcomes first, as tables and summaries list them.
STATUS_ORDER: tuple[Status, ...] = tuple(Status)
# What needs attention first, as the on-call engineer reads them.
BY_URGENCY: tuple[Status, ...] = (
    Status.STUCK,
    Status.RUNNING,
    Status.FAILED,
    Status.COMPENSATED,
    Status.COMPLETED,
)


@dataclass(frozen=True)
class KeyStat:
    """One identifier name's statistics and whether stitching used it (``identifier_stats``).

    ``name`` is the name it links under: the identifier's name, or
    ``key@TOPIC`` for the record key of one topic. The trap evidence:
    ``values_checked`` values were looked at, ``merging`` of them would join
    several instances, ``instances_per_value`` on average. A field found by
    value (not by its name) says where: ``found_by`` (``value``) and
    ``matches`` (the identifier whose values it carries, with ``match_share``
    of its sampled values found there); ``causation``: its values are other
    events' ids (its cause); ``event id``: other events name its values as
    their cause (its own id). ``namespace``: the name a numeric
    value is read as (a record key as the order id it equals)."""

    name: str
    events: int
    distinct_values: int
    mean_events_per_value: float
    event_types: list[str]
    used_for_stitching: bool
    reason: str
    values_checked: int = 0
    merging: int = 0
    instances_per_value: float = 0.0
    found_by: str | None = None
    matches: str | None = None
    match_share: float | None = None
    namespace: str | None = None
    # A record key (``key@TOPIC``) left out on these event types: keyed there by
    # something instances share (a customer), while the topic's other types key by the instance.
    trap_types: list[str] = field(default_factory=list)
    # Link values of a stitching name whose events would merge several
    # instances (checked by the trap rule): left out of stitching one by one.
    split_values: list[int] = field(default_factory=list)

    @classmethod
    def load_all(cls, con: duckdb.DuckDBPyConnection) -> list[KeyStat]:
        """Every row of ``identifier_stats``, by name (a store derived by older
        code lacks the newer columns: their defaults)."""
        have = {
            str(r[0])
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = 'main' AND table_name = 'identifier_stats'"
            ).fetchall()
        }
        cols = [f.name for f in fields(cls) if f.name in have]
        rows = con.execute(f"SELECT {', '.join(cols)} FROM identifier_stats ORDER BY name").fetchall()
        out = []
        for r in rows:
            d = dict(zip(cols, r, strict=True))
            d["event_types"] = list(d["event_types"])
            if "trap_types" in d:
                d["trap_types"] = list(d["trap_types"] or [])
            if "split_values" in d:
                d["split_values"] = [int(x) for x in d["split_values"] or []]
            out.append(cls(**d))
        return out


# Below this share of events in an instance, import, status and the dashboard warn.
STITCHED_FEW = 0.5


@dataclass(frozen=True)
class StitchHealth:
    """How much of the log reconstruction could stitch into instances.

    ``events``: records that are events (not tombstones, unparseable...);
    ``linked``: of them in an instance with another event; ``ruled_out``: identifier names not
    used for stitching, most common first, with why."""

    events: int
    linked: int
    not_events: int
    ruled_out: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.linked / self.events if self.events else 1.0

    @property
    def warning(self) -> str | None:
        """A loud one-paragraph warning when nothing or little was stitched, else None."""
        if self.events == 0 or self.share >= STITCHED_FEW:
            return None
        head = (
            f"only {self.linked:,} of {self.events:,} events ({self.share:.0%}) were stitched into instances"
            if self.linked
            else f"none of {self.events:,} events were stitched into instances"
        )
        if self.ruled_out:
            names = "; ".join(f"{n} ({e:,} events): {why}" for n, e, why in self.ruled_out[:3])
            why = f" Identifiers not used: {names}."
        else:
            why = " No identifier was found that links events of different types."
        return (
            f"WARNING: {head}.{why} See `choreo keys`; name the case id with "
            "[reconstruct] stitch_include or [extract] identifier_paths in choreo.toml."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "linked": self.linked,
            "share": round(self.share, 4),
            "not_events": self.not_events,
            "ruled_out": [list(r) for r in self.ruled_out],
            "warning": self.warning,
        }


@dataclass(frozen=True)
class InstanceRow:
    instance_id: str
    workflow: str
    status: str
    label: str
    start_ms: int
    end_ms: int
    n_events: int
    n_duplicates: int
    n_skewed: int
    first_type: str
    last_type: str
    last_service: str

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["duration_ms"] = self.duration_ms
        return d


@dataclass(frozen=True)
class Page:
    rows: list[InstanceRow]
    total: int  # rows matching the filters
    offset: int
    limit: int


@dataclass(frozen=True)
class StuckInfo:
    instance_id: str
    workflow: str
    reason: str
    last_type: str
    last_service: str
    last_topic: str
    last_partition: int
    last_offset: int
    expected_types: list[str]
    responsible_service: str | None
    silent_ms: int
    expected_within_ms: int | None
    overdue_ms: int | None
    consumer_group: str | None
    consumer_state: str | None
    group_lag: int | None
    explanation: str
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StuckCause:
    """Stuck instances grouped by why: after which step, whose move, what for."""

    workflow: str
    last_type: str  # the step after which they stopped
    responsible_service: str | None  # whose move it is
    reason: str
    expected_types: list[str]  # what that service should emit
    count: int
    max_overdue_ms: int | None
    max_silent_ms: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TimelineEvent:
    seq: int
    topic: str
    partition: int
    offset: int
    event_type: str
    service: str
    ts_ms: int | None  # as stamped
    adj_ts_ms: int  # after clock-skew adjustment
    skew_ms: int
    since_prev_ms: int | None  # latency from the previous original event
    since_start_ms: int
    parent_seq: int | None
    duplicate_of_seq: int | None
    event_id: str | None
    causation_id: str | None
    trace_id: str | None
    key: bytes | None
    headers: list[tuple[str, bytes | None]]
    payload: bytes | None
    payload_kind: str
    identifiers: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["key"] = None if self.key is None else self.key.decode("utf-8", "replace")
        d["payload"] = None if self.payload is None else self.payload.decode("utf-8", "replace")
        d["headers"] = [(n, None if v is None else v.decode("utf-8", "replace")) for n, v in self.headers]
        return d


@dataclass(frozen=True)
class NotEvent:
    """A record that is not an event (a tombstone, an empty or unparseable
    payload, JSON without an event type): never part of an instance or the
    model, listed beside the instance whose identifier (usually the record
    key) it carries."""

    topic: str
    partition: int
    offset: int
    reason: str
    ts_ms: int | None
    key: bytes | None
    payload_kind: str
    instance_id: str | None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["key"] = None if self.key is None else self.key.decode("utf-8", "replace")
        return d


@dataclass(frozen=True)
class InstanceDetail:
    instance: InstanceRow
    events: list[TimelineEvent]
    stuck: StuckInfo | None
    identifiers: list[tuple[str, str]]  # distinct (name, value) over its events
    beside: list[NotEvent] = field(default_factory=list)  # records that are not events, carrying its key

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance.as_dict(),
            "identifiers": [list(p) for p in self.identifiers],
            "stuck": None if self.stuck is None else self.stuck.as_dict(),
            "events": [e.as_dict() for e in self.events],
            "not_events_beside": [r.as_dict() for r in self.beside],
        }


@dataclass(frozen=True)
class WorkflowSummary:
    workflow: str
    instances: int
    events: int  # distinct events of its instances
    by_status: dict[str, int]

    @property
    def stuck(self) -> int:
        return self.by_status.get("stuck", 0)


@dataclass(frozen=True)
class ModelNode:
    event_type: str
    count: int
    service: str | None
    is_start: bool
    is_terminal: bool
    kind: str
    stuck_after: int


@dataclass(frozen=True)
class ModelEdge:
    src_type: str
    dst_type: str
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    kind: str
    concurrent: bool = False  # the two are parallel branches, not a sequence


@dataclass(frozen=True)
class Variant:
    rank: int
    path: list[str]
    count: int
    share: float
    stuck: int = 0  # of its instances, stuck now (the path ends where they stopped)


@dataclass(frozen=True)
class WorkflowModel:
    workflow: str
    instances: int
    nodes: list[ModelNode]
    edges: list[ModelEdge]  # most frequent first
    variants: list[Variant]  # the most frequent ``variant_limit``
    variants_total: int
    branches: list[list[str]] = field(default_factory=list)  # sets of parallel branches
    fanout: list[tuple[str, str, float | None]] = field(default_factory=list)  # (parent, branch, p99 ms)
