"""The dashboard's queries: ``reconstruct.read`` helpers, paged in SQL so the
size of the store does not matter, run safely from worker threads.

Each call runs on its own DuckDB cursor (a connection to the same database),
which is what makes concurrent calls from several workers safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from choreo.core.store import Store
from choreo.reconstruct.query import model, read, stuck
from choreo.reconstruct.query.asof import AsOf, judged_as_of
from choreo.reconstruct.query.records import StuckCause, StuckInfo, WorkflowModel
from choreo.reconstruct.query.stuck import StuckPage, StuckQuery
from choreo.tui.data.models import DetailView, InstancePage, InstanceQuery, Overview, SortKey

# Our sort keys in terms of read.instances_page: "age" here is the time since
# the last event, so the longest silent (oldest end) come first.
_SORTS = {
    SortKey.START: ("start", False),
    SortKey.AGE: ("end", True),
    SortKey.DURATION: ("duration", False),
    SortKey.EVENTS: ("events", False),
    SortKey.STATUS: ("status", False),
    SortKey.LABEL: ("label", False),
    SortKey.WORKFLOW: ("workflow", False),
    SortKey.LAST: ("last", False),
}


class ReaderClosed(Exception):
    """The dashboard is closing: no new work on the store (whoever opened it closes it next)."""


class StoreReader:
    """Read-only queries for the screens. Each answer carries the "now" its
    statuses were judged at, read with them (see ``reconstruct.query.asof``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._busy = 0  # workers using the store right now
        self._idle = threading.Condition()
        self._shut = False

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Around a worker's use of the store (``view`` does it): whoever
        closes the store waits for them (``shut``)."""
        with self._idle:
            if self._shut:
                raise ReaderClosed("the dashboard is closing")
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    @property
    def closing(self) -> bool:
        """``shut`` was called: no new work is taken."""
        return self._shut

    def shut(self, timeout: float) -> bool:
        """Take no new work, and wait until no worker uses the store; False if
        some still do after ``timeout`` s."""
        with self._idle:
            self._shut = True
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    @contextmanager
    def view(self) -> Iterator[Store]:
        """The store on a connection of its own, for one worker's use."""
        with self.busy():
            view = self.store.cursor()
            try:
                yield view
            finally:
                view.close()

    @staticmethod
    def _now(s: Store) -> AsOf | None:
        return judged_as_of(s)

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
            health = read.stitch_health(s) if read.has_derived(s) else None
            return Overview(
                events=s.count_events(),
                instances=sum(w.instances for w in workflows),
                workflows=workflows,
                stuck_total=read.stuck_count(s),
                as_of=self._now(s),
                stitched_share=None if health is None else health.share,
                stitched_few=health is not None and health.warning is not None,
            )

    def most_stuck(self, limit: int = 200) -> tuple[StuckInfo, ...]:
        """The most overdue stuck instances."""
        with self.view() as s:
            return tuple(read.stuck_list(s, limit=limit))

    def stuck_causes(self, workflow: str | None = None) -> list[StuckCause]:
        with self.view() as s:
            return stuck.stuck_causes(s, workflow=workflow)

    def stuck_page(self, query: StuckQuery) -> StuckPage:
        with self.view() as s:
            return stuck.stuck_page(s, query)

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
            return model.workflow_model(s, workflow)
