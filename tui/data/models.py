"""View models: what each screen shows, as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

STATUSES = ("completed", "failed", "compensated", "running", "stuck")


class SortKey(StrEnum):
    """Orderings of the instances table; each sorts descending by default."""

    START = "start"  # newest first
    AGE = "age"  # longest silent first: now - last event
    DURATION = "duration"  # end - start
    EVENTS = "events"  # number of distinct events


@dataclass(frozen=True, slots=True)
class WorkflowSummary:
    workflow: str
    total: int
    events: int
    by_status: dict[str, int]

    @property
    def stuck(self) -> int:
        return self.by_status.get("stuck", 0)


@dataclass(frozen=True, slots=True)
class StuckRow:
    instance_id: str
    workflow: str
    label: str
    last_type: str
    expected_types: tuple[str, ...]
    responsible_service: str | None
    overdue_ms: int | None
    silent_ms: int


@dataclass(frozen=True, slots=True)
class Overview:
    events: int
    instances: int
    workflows: tuple[WorkflowSummary, ...]
    stuck: tuple[StuckRow, ...]  # the most overdue few
    stuck_total: int
    now_ms: int | None


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """Filter, search, sort and page of the instances table."""

    workflow: str | None = None
    status: str | None = None
    search: str | None = None  # any identifier value, an instance id, or name=value
    sort: SortKey = SortKey.START
    descending: bool = True
    offset: int = 0
    limit: int = 100

    def with_(self, **changes: object) -> InstanceQuery:
        """A copy with changes; any change but paging goes back to the first page."""
        if "offset" not in changes:
            changes["offset"] = 0
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
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
    last_type: str
    last_service: str

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class InstancePage:
    query: InstanceQuery
    rows: tuple[InstanceRow, ...]
    total: int  # rows matching the filter, over all pages
    now_ms: int | None


@dataclass(frozen=True, slots=True)
class EventView:
    seq: int
    topic: str
    partition: int
    offset: int
    ts_ms: int | None
    adj_ts_ms: int
    skew_ms: int
    parent_seq: int | None
    duplicate_of_seq: int | None
    event_type: str
    service: str
    event_id: str | None
    causation_id: str | None
    trace_id: str | None
    key: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    payload: bytes | None
    payload_kind: str
    identifiers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def coordinates(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"


@dataclass(frozen=True, slots=True)
class StuckInfo:
    reason: str
    last_type: str
    last_service: str
    expected_types: tuple[str, ...]
    responsible_service: str | None
    silent_ms: int
    expected_within_ms: int | None
    overdue_ms: int | None
    consumer_group: str | None
    consumer_state: str | None
    group_lag: int | None
    explanation: str


@dataclass(frozen=True, slots=True)
class InstanceDetail:
    instance: InstanceRow
    events: tuple[EventView, ...]  # in causal order (seq), at most the limit asked for
    stuck: StuckInfo | None
    now_ms: int | None


@dataclass(frozen=True, slots=True)
class VariantRow:
    rank: int
    path: tuple[str, ...]
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class EdgeRow:
    src_type: str
    dst_type: str
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    kind: str


@dataclass(frozen=True, slots=True)
class NodeRow:
    event_type: str
    count: int
    service: str | None
    is_start: bool
    is_terminal: bool
    kind: str
    stuck_after: int


@dataclass(frozen=True, slots=True)
class ModelView:
    workflow: str
    nodes: tuple[NodeRow, ...]
    edges: tuple[EdgeRow, ...]
    variants: tuple[VariantRow, ...]
    variants_total: int
