"""What the screens ask for and get: queries and views over the read
helpers of ``reconstruct.read`` (whose rows the widgets show directly)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from choreo.reconstruct.query.records import InstanceDetail, InstanceRow, WorkflowSummary


class SortKey(StrEnum):
    """Orderings of the instances table; each sorts descending by default."""

    START = "start"  # newest first
    AGE = "age"  # longest silent first: now - last event
    DURATION = "duration"  # end - start
    EVENTS = "events"  # number of distinct events


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
    now_ms: int | None


@dataclass(frozen=True, slots=True)
class InstancePage:
    query: InstanceQuery
    rows: tuple[InstanceRow, ...]
    total: int  # rows matching the filter, over all pages
    now_ms: int | None


@dataclass(frozen=True, slots=True)
class DetailView:
    detail: InstanceDetail
    now_ms: int | None
