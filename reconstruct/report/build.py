"""A post-mortem summary of a store: workflows, status counts, variants,
slowest steps and stuck instances with their explanations, as plain data
(rendered by reconstruct.report_render)."""

from __future__ import annotations

import time
from typing import Any

from choreo.core.event_log import ensure_log_views
from choreo.core.store import Store
from choreo.core.timefmt import iso_ms
from choreo.reconstruct.query.asof import AsOf
from choreo.reconstruct.query.model import workflow_model
from choreo.reconstruct.query.stuck import stuck_causes

TOP_VARIANTS = 10
TOP_STEPS = 10
TOP_STUCK = 50


def _status_counts(store: Store, workflow: str | None) -> dict[str, int]:
    if workflow is None:
        rows = store.query("SELECT status, count(*) FROM instances GROUP BY 1 ORDER BY 1")
    else:
        rows = store.query(
            "SELECT status, count(*) FROM instances WHERE workflow = ? GROUP BY 1 ORDER BY 1", [workflow]
        )
    return {str(s): int(n) for s, n in rows}


def _workflow(store: Store, name: str) -> dict[str, Any]:
    counts = _status_counts(store, name)
    # The same variants as the dashboard's model view, stuck ones marked.
    variants = [
        {"rank": v.rank, "path": v.path, "count": v.count, "share": v.share, "stuck": v.stuck}
        for v in workflow_model(store, name, variant_limit=TOP_VARIANTS).variants
    ]
    steps = [
        {
            "from": str(a),
            "to": str(b),
            "count": int(c),
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
        }
        for a, b, c, p50, p95, p99 in store.query(
            "SELECT src_type, dst_type, count, p50_ms, p95_ms, p99_ms FROM model_edges "
            "WHERE workflow = ? AND p95_ms IS NOT NULL "
            "ORDER BY p95_ms DESC, src_type, dst_type LIMIT ?",
            [name, TOP_STEPS],
        )
    ]
    stuck = [
        {
            "instance_id": str(r[0]),
            "label": str(r[1]),
            "reason": str(r[2]),
            "last_type": str(r[3]),
            "last_service": str(r[4]),
            "expected_types": [str(t) for t in r[5]],
            "responsible_service": r[6],
            "silent_ms": int(r[7]),
            "overdue_ms": None if r[8] is None else int(r[8]),
            "explanation": str(r[9]),
        }
        for r in store.query(
            "SELECT s.instance_id, i.label, s.reason, s.last_type, s.last_service, s.expected_types, "
            "s.responsible_service, s.silent_ms, s.overdue_ms, s.explanation "
            "FROM stuck s JOIN instances i USING (instance_id) WHERE s.workflow = ? "
            "ORDER BY s.overdue_ms DESC NULLS LAST, s.silent_ms DESC, s.instance_id LIMIT ?",
            [name, TOP_STUCK],
        )
    ]
    stuck_total = store.query("SELECT count(*) FROM stuck WHERE workflow = ?", [name])[0][0]
    # Where the stuck instances stopped and whose move it is: the post-mortem's
    # first question, grouped as the dashboard's stuck view groups them.
    stuck_by_step = [
        {
            "last_type": c.last_type,
            "responsible_service": c.responsible_service,
            "reason": c.reason,
            "expected_types": c.expected_types,
            "count": c.count,
        }
        for c in stuck_causes(store, workflow=name)
    ]
    return {
        "name": name,
        "instances": sum(counts.values()),
        "status_counts": counts,
        "variants": variants,
        "slowest_steps": steps,
        "stuck_by_step": stuck_by_step,
        "stuck": stuck,
        "stuck_total": int(stuck_total),
    }


def build_report(store: Store, *, as_of: AsOf | None = None) -> dict[str, Any]:
    """The report as JSON-ready data; ``as_of`` is the "now" statuses were judged at."""
    ensure_log_views(store)
    span = store.query("SELECT count(*), min(ts_ms), max(ts_ms) FROM log_events")[0]
    names = [str(r[0]) for r in store.query("SELECT DISTINCT workflow FROM instances ORDER BY 1")]
    return {
        "store": str(store.path),
        "generated_at": iso_ms(int(time.time() * 1000)),
        "as_of": None if as_of is None else iso_ms(as_of.ms),
        "as_of_kind": None if as_of is None else as_of.kind.value,
        "as_of_text": None if as_of is None else as_of.describe(),
        "events": int(span[0]),
        "first_event": None if span[1] is None else iso_ms(int(span[1])),
        "last_event": None if span[2] is None else iso_ms(int(span[2])),
        "status_counts": _status_counts(store, None),
        "workflows": [_workflow(store, n) for n in names],
    }
