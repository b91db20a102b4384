"""The query layer's record types: what the CLI, the dashboard, exports and
reports get back from ``choreo.reconstruct.query.read``. Defined once here;
every consumer imports them (the engine too, for the rows it stores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """One identifier name's statistics and whether stitching used it (``identifier_stats``)."""

    name: str
    events: int
    distinct_values: int
    mean_events_per_value: float
    event_types: list[str]
    used_for_stitching: bool
    reason: str

    @classmethod
    def load_all(cls, con: duckdb.DuckDBPyConnection) -> list[KeyStat]:
        """Every row of ``identifier_stats``, by name."""
        rows = con.execute(
            "SELECT name, events, distinct_values, mean_events_per_value, event_types, "
            "used_for_stitching, reason FROM identifier_stats ORDER BY name"
        ).fetchall()
        return [
            cls(str(r[0]), int(r[1]), int(r[2]), float(r[3]), list(r[4]), bool(r[5]), str(r[6])) for r in rows
        ]


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
class InstanceDetail:
    instance: InstanceRow
    events: list[TimelineEvent]
    stuck: StuckInfo | None
    identifiers: list[tuple[str, str]]  # distinct (name, value) over its events

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance.as_dict(),
            "identifiers": [list(p) for p in self.identifiers],
            "stuck": None if self.stuck is None else self.stuck.as_dict(),
            "events": [e.as_dict() for e in self.events],
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


@dataclass(frozen=True)
class Variant:
    rank: int
    path: list[str]
    count: int
    share: float


@dataclass(frozen=True)
class WorkflowModel:
    workflow: str
    instances: int
    nodes: list[ModelNode]
    edges: list[ModelEdge]  # most frequent first
    variants: list[Variant]  # the most frequent ``variant_limit``
    variants_total: int
