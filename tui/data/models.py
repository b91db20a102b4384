"""What the screens ask for and get: queries and views over the read
helpers of ``reconstruct.read`` (whose rows the widgets show directly)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from choreo.reconstruct.query.asof import AsOf
from choreo.reconstruct.query.records import InstanceDetail, InstanceRow, WorkflowSummary


class SortKey(StrEnum):
    """Orderings of the instances table, one per column; each sorts descending
    by default (text columns ascending: A first)."""

    START = "start"  # newest first
    AGE = "age"  # longest silent first: now - last event
    DURATION = "duration"  # end - start
    EVENTS = "events"  # number of distinct events
    STATUS = "status"
    LABEL = "label"
    WORKFLOW = "workflow"
    LAST = "last"  # the last event's type

    @property
    def text(self) -> bool:
        return self in (SortKey.STATUS, SortKey.LABEL, SortKey.WORKFLOW, SortKey.LAST)


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """Filter, search, sort and page of the instances table."""

    workflow: str | None = None
    status: str | None = None
    search: str | None = None  # any identifier value, an instance id, a label or name=value
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
class Overview:
    events: int
    instances: int
    workflows: tuple[WorkflowSummary, ...]
    stuck_total: int
    as_of: AsOf | None  # the "now" the statuses shown were judged at
    stitched_share: float | None = None  # of the events, in an instance with another; None: not known
    stitched_few: bool = False  # so few that the dashboard says so out loud

    @property
    def now_ms(self) -> int | None:
        return None if self.as_of is None else self.as_of.ms


@dataclass(frozen=True, slots=True)
class InstancePage:
    query: InstanceQuery
    rows: tuple[InstanceRow, ...]
    total: int  # rows matching the filter, over all pages
    as_of: AsOf | None  # the "now" the statuses shown were judged at

    @property
    def now_ms(self) -> int | None:
        return None if self.as_of is None else self.as_of.ms


@dataclass(frozen=True, slots=True)
class DetailView:
    detail: InstanceDetail
    as_of: AsOf | None  # the "now" the statuses shown were judged at

    @property
    def now_ms(self) -> int | None:
        return None if self.as_of is None else self.as_of.ms
