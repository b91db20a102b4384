"""Queries behind the dashboard, paged in SQL so that the size of the store
does not matter: every call reads at most one page of rows.

A StoreReader is shared by the screens and called from worker threads; each
call runs on its own DuckDB cursor (a connection to the same database), which
is what makes concurrent calls safe.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb

from choreo.store import Store
from tui.data.models import (
    EdgeRow,
    EventView,
    InstanceDetail,
    InstancePage,
    InstanceQuery,
    InstanceRow,
    ModelView,
    NodeRow,
    Overview,
    SortKey,
    StuckInfo,
    StuckRow,
    VariantRow,
    WorkflowSummary,
)

# Instances matched by one search value; a value shared by more is an
# attribute (a customer id), and the first ones are enough to page through.
MAX_SEARCH_HITS = 10_000
DETAIL_EVENT_LIMIT = 2_000

_INSTANCE_COLUMNS = (
    "instance_id, workflow, status, label, start_ms, end_ms, n_events, n_duplicates, "
    "n_skewed, last_type, last_service"
)


def _instance_row(r: Sequence[Any]) -> InstanceRow:
    return InstanceRow(
        instance_id=str(r[0]),
        workflow=str(r[1]),
        status=str(r[2]),
        label=str(r[3]),
        start_ms=int(r[4]),
        end_ms=int(r[5]),
        n_events=int(r[6]),
        n_duplicates=int(r[7]),
        n_skewed=int(r[8]),
        last_type=str(r[9]),
        last_service=str(r[10]),
    )


def _order_by(query: InstanceQuery) -> str:
    desc = "DESC" if query.descending else "ASC"
    asc = "ASC" if query.descending else "DESC"
    # Longest silent first means the oldest last event first.
    expr = {
        SortKey.START: f"start_ms {desc}",
        SortKey.AGE: f"end_ms {asc}",
        SortKey.DURATION: f"(end_ms - start_ms) {desc}",
        SortKey.EVENTS: f"n_events {desc}",
    }[query.sort]
    return f"{expr}, instance_id"


class StoreReader:
    """Read-only queries for the screens; ``now_ms`` None means "newest event"."""

    def __init__(self, store: Store, *, live: bool = False) -> None:
        self.store = store
        self.live = live

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.store.con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    # -- store state ------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """(events, instances): tells an empty store from one not yet reconstructed."""
        with self._cursor() as cur:
            row = cur.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM instances)"
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def now_ms(self, cur: duckdb.DuckDBPyConnection) -> int | None:
        """The reference "now" for ages: the newest event of the store."""
        row = cur.execute("SELECT max(end_ms) FROM instances").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    # -- overview ---------------------------------------------------------
    def overview(self, stuck_limit: int = 8) -> Overview:
        with self._cursor() as cur:
            rows = cur.execute(
                """
                SELECT workflow, status, count(*), sum(n_events)
                FROM instances GROUP BY workflow, status ORDER BY workflow, status
                """
            ).fetchall()
            by_wf: dict[str, dict[str, int]] = {}
            events_wf: dict[str, int] = {}
            for wf, status, n, ev in rows:
                by_wf.setdefault(wf, {})[status] = int(n)
                events_wf[wf] = events_wf.get(wf, 0) + int(ev or 0)
            workflows = tuple(
                WorkflowSummary(wf, sum(c.values()), events_wf[wf], c) for wf, c in by_wf.items()
            )
            stuck_rows = cur.execute(
                """
                SELECT s.instance_id, s.workflow, i.label, s.last_type, s.expected_types,
                       s.responsible_service, s.overdue_ms, s.silent_ms
                FROM stuck s JOIN instances i USING (instance_id)
                ORDER BY s.overdue_ms DESC NULLS LAST, s.silent_ms DESC, s.instance_id
                LIMIT ?
                """,
                [stuck_limit],
            ).fetchall()
            stuck_total_row = cur.execute("SELECT count(*) FROM stuck").fetchone()
            events_row = cur.execute("SELECT count(*) FROM events").fetchone()
            now = None if self.live else self.now_ms(cur)
        assert stuck_total_row is not None and events_row is not None
        return Overview(
            events=int(events_row[0]),
            instances=sum(w.total for w in workflows),
            workflows=workflows,
            stuck=tuple(
                StuckRow(
                    instance_id=str(r[0]),
                    workflow=str(r[1]),
                    label=str(r[2]),
                    last_type=str(r[3]),
                    expected_types=tuple(r[4] or ()),
                    responsible_service=r[5],
                    overdue_ms=None if r[6] is None else int(r[6]),
                    silent_ms=int(r[7]),
                )
                for r in stuck_rows
            ),
            stuck_total=int(stuck_total_row[0]),
            now_ms=now,
        )

    def workflows(self) -> list[str]:
        with self._cursor() as cur:
            return [
                str(r[0])
                for r in cur.execute("SELECT DISTINCT workflow FROM instances ORDER BY 1").fetchall()
            ]

    # -- instances --------------------------------------------------------
    def search_instances(self, cur: duckdb.DuckDBPyConnection, text: str) -> list[str]:
        """Instances that carry ``text`` as any identifier value, or whose id or
        label it is; ``name=value`` also matches that identifier exactly."""
        text = text.strip()
        name, sep, value = text.partition("=")
        params: list[object] = [text, text, text, MAX_SEARCH_HITS]
        by_name = ""
        if sep and name and value:
            by_name = 'UNION SELECT topic, partition, "offset" FROM identifiers WHERE name = ? AND value = ?'
            params = [text, name.strip(), value.strip(), text, text, MAX_SEARCH_HITS]
        rows = cur.execute(
            f"""
            WITH ev AS (
                SELECT topic, partition, "offset" FROM identifiers WHERE value = ?
                {by_name}
            )
            SELECT DISTINCT ie.instance_id FROM ev JOIN instance_events ie USING (topic, partition, "offset")
            UNION
            SELECT instance_id FROM instances WHERE instance_id = ? OR label = ?
            LIMIT ?
            """,
            params,
        ).fetchall()
        return [str(r[0]) for r in rows]

    def instances(self, query: InstanceQuery, now_ms: int | None = None) -> InstancePage:
        where: list[str] = []
        params: list[object] = []
        with self._cursor() as cur:
            if query.workflow is not None:
                where.append("workflow = ?")
                params.append(query.workflow)
            if query.status is not None:
                where.append("status = ?")
                params.append(query.status)
            if query.search:
                hits = self.search_instances(cur, query.search)
                if not hits:
                    return InstancePage(query, (), 0, now_ms)
                where.append("list_contains(?, instance_id)")
                params.append(hits)
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            total_row = cur.execute(f"SELECT count(*) FROM instances {clause}", params).fetchone()
            rows = cur.execute(
                f"SELECT {_INSTANCE_COLUMNS} FROM instances {clause} ORDER BY {_order_by(query)} "
                "LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
            now = now_ms if now_ms is not None or self.live else self.now_ms(cur)
        assert total_row is not None
        return InstancePage(query, tuple(_instance_row(r) for r in rows), int(total_row[0]), now)

    # -- one instance -----------------------------------------------------
    def detail(
        self, instance_id: str, now_ms: int | None = None, limit: int = DETAIL_EVENT_LIMIT
    ) -> InstanceDetail | None:
        with self._cursor() as cur:
            row = cur.execute(
                f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE instance_id = ?", [instance_id]
            ).fetchone()
            if row is None:
                return None
            instance = _instance_row(row)
            events = self._events(cur, instance_id, limit)
            stuck = self._stuck(cur, instance_id)
            now = now_ms if now_ms is not None or self.live else self.now_ms(cur)
        return InstanceDetail(instance, events, stuck, now)

    def _events(self, cur: duckdb.DuckDBPyConnection, instance_id: str, limit: int) -> tuple[EventView, ...]:
        rows = cur.execute(
            """
            WITH mine AS (
                SELECT topic, partition, "offset", seq, adj_ts_ms, skew_ms, parent_seq, duplicate_of_seq
                FROM instance_events WHERE instance_id = ? ORDER BY seq LIMIT ?
            ),
            ids AS (
                SELECT topic, partition, "offset", list((name, value) ORDER BY name, value) AS ids
                FROM identifiers SEMI JOIN mine USING (topic, partition, "offset")
                GROUP BY ALL
            )
            SELECT m.seq, m.topic, m.partition, m."offset", e.ts_ms, m.adj_ts_ms, m.skew_ms, m.parent_seq,
                   m.duplicate_of_seq, e.event_type, e.service, e.event_id, e.causation_id, e.trace_id,
                   e.key, e.headers, e.payload, e.payload_kind, ids.ids
            FROM mine m
            JOIN events e USING (topic, partition, "offset")
            LEFT JOIN ids USING (topic, partition, "offset")
            ORDER BY m.seq
            """,
            [instance_id, limit],
        ).fetchall()
        return tuple(
            EventView(
                seq=int(r[0]),
                topic=str(r[1]),
                partition=int(r[2]),
                offset=int(r[3]),
                ts_ms=None if r[4] is None else int(r[4]),
                adj_ts_ms=int(r[5]),
                skew_ms=int(r[6]),
                parent_seq=None if r[7] is None else int(r[7]),
                duplicate_of_seq=None if r[8] is None else int(r[8]),
                event_type=str(r[9]),
                service=str(r[10]),
                event_id=r[11],
                causation_id=r[12],
                trace_id=r[13],
                key=None if r[14] is None else bytes(r[14]),
                headers=tuple(
                    (str(h["name"]), None if h["value"] is None else bytes(h["value"])) for h in r[15]
                ),
                payload=None if r[16] is None else bytes(r[16]),
                payload_kind=str(r[17]),
                identifiers=tuple((str(n), str(v)) for n, v in (r[18] or ())),
            )
            for r in rows
        )

    def _stuck(self, cur: duckdb.DuckDBPyConnection, instance_id: str) -> StuckInfo | None:
        r = cur.execute(
            """
            SELECT reason, last_type, last_service, expected_types, responsible_service, silent_ms,
                   expected_within_ms, overdue_ms, consumer_group, consumer_state, group_lag, explanation
            FROM stuck WHERE instance_id = ?
            """,
            [instance_id],
        ).fetchone()
        if r is None:
            return None
        return StuckInfo(
            reason=str(r[0]),
            last_type=str(r[1]),
            last_service=str(r[2]),
            expected_types=tuple(r[3] or ()),
            responsible_service=r[4],
            silent_ms=int(r[5]),
            expected_within_ms=None if r[6] is None else int(r[6]),
            overdue_ms=None if r[7] is None else int(r[7]),
            consumer_group=r[8],
            consumer_state=r[9],
            group_lag=None if r[10] is None else int(r[10]),
            explanation=str(r[11]),
        )

    # -- model ------------------------------------------------------------
    def model(self, workflow: str, variant_limit: int = 50) -> ModelView:
        with self._cursor() as cur:
            nodes = cur.execute(
                """
                SELECT event_type, count, service, is_start, is_terminal, kind, stuck_after
                FROM model_nodes WHERE workflow = ? ORDER BY count DESC, event_type
                """,
                [workflow],
            ).fetchall()
            edges = cur.execute(
                """
                SELECT src_type, dst_type, count, p50_ms, p95_ms, p99_ms, kind
                FROM model_edges WHERE workflow = ? ORDER BY count DESC, src_type, dst_type
                """,
                [workflow],
            ).fetchall()
            variants = cur.execute(
                "SELECT rank, path, count, share FROM variants WHERE workflow = ? ORDER BY rank LIMIT ?",
                [workflow, variant_limit],
            ).fetchall()
            total_row = cur.execute("SELECT count(*) FROM variants WHERE workflow = ?", [workflow]).fetchone()
        assert total_row is not None
        return ModelView(
            workflow=workflow,
            nodes=tuple(
                NodeRow(str(n[0]), int(n[1]), n[2], bool(n[3]), bool(n[4]), str(n[5]), int(n[6]))
                for n in nodes
            ),
            edges=tuple(EdgeRow(str(e[0]), str(e[1]), int(e[2]), e[3], e[4], e[5], str(e[6])) for e in edges),
            variants=tuple(VariantRow(int(v[0]), tuple(v[1]), int(v[2]), float(v[3])) for v in variants),
            variants_total=int(total_row[0]),
        )
