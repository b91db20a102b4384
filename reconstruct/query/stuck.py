"""The stuck instances as the on-call engineer goes through them: grouped by
cause (after which step, whose move, why), and paged, filtered and sorted by
any column in SQL, however many there are.

- ``stuck_causes(store, workflow=None)``: one row per cause, most instances first.
- ``stuck_page(store, StuckQuery(...))``: a page of stuck instances with their labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from choreo.core.store import Store
from choreo.reconstruct.query.read import STUCK_COLUMNS, search_ids, stuck_from_row
from choreo.reconstruct.query.records import StuckCause, StuckInfo

# Sortable columns: SQL over the stuck row ``s`` and its instance ``i``. Every
# order ends with the instance id, so that pages never overlap.
STUCK_SORTS: dict[str, str] = {
    "overdue": "s.overdue_ms",
    "label": "i.label",
    "service": "s.responsible_service",
    "expected": "s.expected_types[1]",
    "last": "s.last_type",
    "workflow": "s.workflow",
    "reason": "s.reason",
    "silent": "s.silent_ms",
}


@dataclass(frozen=True, slots=True)
class Cause:
    """Which cause a page is restricted to (``StuckCause`` without its counts)."""

    workflow: str
    last_type: str
    responsible_service: str | None
    reason: str

    @classmethod
    def of(cls, c: StuckCause) -> Cause:
        return cls(c.workflow, c.last_type, c.responsible_service, c.reason)


@dataclass(frozen=True, slots=True)
class StuckQuery:
    workflow: str | None = None
    cause: Cause | None = None
    search: str | None = None  # an identifier value, or part of a label or instance id
    sort: str = "overdue"
    descending: bool = True
    offset: int = 0
    limit: int = 100

    def with_(self, **changes: object) -> StuckQuery:
        """A copy with changes; any change but paging goes back to the first page."""
        if "offset" not in changes:
            changes["offset"] = 0
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class StuckPage:
    query: StuckQuery
    rows: list[StuckInfo]
    total: int  # over all pages


def stuck_causes(store: Store, *, workflow: str | None = None) -> list[StuckCause]:
    """Stuck instances by cause, most instances first (then the most overdue)."""
    cond, params = ("workflow = ?", [workflow]) if workflow else ("true", [])
    rows = store.con.execute(
        "SELECT workflow, last_type, responsible_service, reason, "
        "list_sort(list_distinct(flatten(list(expected_types)))), count(*), max(overdue_ms), max(silent_ms) "
        f"FROM stuck WHERE {cond} GROUP BY 1, 2, 3, 4 "
        "ORDER BY 6 DESC, 7 DESC NULLS LAST, 1, 2, 3 NULLS LAST, 4",
        params,
    ).fetchall()
    return [
        StuckCause(
            str(r[0]),
            str(r[1]),
            None if r[2] is None else str(r[2]),
            str(r[3]),
            [str(t) for t in r[4]],
            int(r[5]),
            None if r[6] is None else int(r[6]),
            int(r[7]),
        )
        for r in rows
    ]


def _where(store: Store, q: StuckQuery) -> tuple[str, list[object]]:
    where: list[str] = []
    params: list[object] = []
    if q.workflow:
        where.append("s.workflow = ?")
        params.append(q.workflow)
    if q.cause is not None:
        c = q.cause
        where.append("s.workflow = ? AND s.last_type = ? AND s.reason = ?")
        params += [c.workflow, c.last_type, c.reason]
        if c.responsible_service is None:
            where.append("s.responsible_service IS NULL")
        else:
            where.append("s.responsible_service = ?")
            params.append(c.responsible_service)
    if q.search:
        text = q.search.strip()
        ids = search_ids(store, text)
        # Part of a label or an id matches as you type; an identifier value
        # that only some event carries (a shipment id) matches when complete.
        found = "contains(lower(i.label), lower(?)) OR contains(lower(s.instance_id), lower(?))"
        params += [text, text]
        if ids:
            found += " OR list_contains(?, s.instance_id)"
            params.append(ids)
        where.append(f"({found})")
    return " AND ".join(where) or "true", params


def stuck_page(store: Store, q: StuckQuery) -> StuckPage:
    """One page of stuck instances, filtered and sorted in SQL."""
    order = STUCK_SORTS.get(q.sort)
    if order is None:
        raise ValueError(f"unknown sort {q.sort!r}; use one of {', '.join(STUCK_SORTS)}")
    cond, params = _where(store, q)
    direction = "DESC" if q.descending else "ASC"
    rows = store.con.execute(
        f"SELECT {STUCK_COLUMNS} FROM stuck s JOIN instances i USING (instance_id) WHERE {cond} "
        f"ORDER BY {order} {direction} NULLS LAST, s.instance_id LIMIT ? OFFSET ?",
        [*params, int(q.limit), int(q.offset)],
    ).fetchall()
    total = store.con.execute(
        f"SELECT count(*) FROM stuck s JOIN instances i USING (instance_id) WHERE {cond}", params
    ).fetchone()
    return StuckPage(q, [stuck_from_row(r) for r in rows], int(total[0]) if total else 0)
