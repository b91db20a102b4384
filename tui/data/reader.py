"""The dashboard's queries: ``reconstruct.read`` helpers, paged in SQL so the
size of the store does not matter, run safely from worker threads.

Each call runs on its own DuckDB cursor (a connection to the same database),
which is what makes concurrent calls from several workers safe.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from choreo.core.store import Store
from choreo.reconstruct.query import read
from choreo.reconstruct.query.records import StuckInfo, WorkflowModel
from choreo.tui.data.models import DetailView, InstancePage, InstanceQuery, Overview, SortKey

# Our sort keys in terms of read.instances_page: "age" here is the time since
# the last event, so the longest silent (oldest end) come first.
_SORTS = {
    SortKey.START: ("start", False),
    SortKey.AGE: ("end", True),
    SortKey.DURATION: ("duration", False),
    SortKey.EVENTS: ("events", False),
}


class StoreReader:
    """Read-only queries for the screens. ``live``: "now" is the wall clock."""

    def __init__(self, store: Store, *, live: bool = False) -> None:
        self.store = store
        self.live = live

    @contextmanager
    def view(self) -> Iterator[Store]:
        """The store on a connection of its own, for one worker's use."""
        view = self.store.cursor()
        try:
            yield view
        finally:
            view.close()

    def _now(self, s: Store) -> int | None:
        if self.live:
            return int(time.time() * 1000)
        return read.judged_now_ms(s)

    # -- store state ------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """(events, instances): tells an empty store from one not yet reconstructed."""
        with self.view() as s:
            events = s.count_events()
            if not read.has_derived(s):
                return events, 0
            row = s.con.execute("SELECT count(*) FROM instances").fetchone()
        return events, int(row[0]) if row else 0

    # -- screens ----------------------------------------------------------
    def overview(self) -> Overview:
        with self.view() as s:
            workflows = tuple(read.workflow_summaries(s))
            return Overview(
                events=s.count_events(),
                instances=sum(w.instances for w in workflows),
                workflows=workflows,
                stuck_total=read.stuck_count(s),
                now_ms=self._now(s),
            )

    def most_stuck(self, limit: int = 8) -> tuple[StuckInfo, ...]:
        """The most overdue stuck instances."""
        with self.view() as s:
            return tuple(read.stuck_list(s, limit=limit))

    def workflows(self) -> list[str]:
        with self.view() as s:
            return [w.workflow for w in read.workflow_summaries(s)]

    def instances(self, query: InstanceQuery) -> InstancePage:
        sort, invert = _SORTS[query.sort]
        with self.view() as s:
            page = read.instances_page(
                s,
                status=query.status,
                workflow=query.workflow,
                search=query.search,
                sort=sort,
                descending=query.descending != invert,
                offset=query.offset,
                limit=query.limit,
            )
            return InstancePage(query, tuple(page.rows), page.total, self._now(s))

    def detail(self, instance_id: str) -> DetailView | None:
        with self.view() as s:
            # Identifiers are fetched per event when it is selected.
            detail = read.instance_detail(s, instance_id, with_identifiers=False)
            return None if detail is None else DetailView(detail, self._now(s))

    def event_identifiers(self, topic: str, partition: int, offset: int) -> list[tuple[str, str]]:
        with self.view() as s:
            return read.event_identifiers(s, topic, partition, offset)

    def model(self, workflow: str) -> WorkflowModel:
        with self.view() as s:
            return read.workflow_model(s, workflow)
