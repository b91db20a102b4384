"""Shared by the trafficgen tests: small knobs, the knob strategy of the
sweeps, a perfect reconstruction built from the truth (the scorer's
oracle), and the real round trip through `choreo import` in-process."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from choreo.core.store import Store
from choreo.trafficgen.knobs import MINUTE, Knobs
from choreo.trafficgen.run import DB, write
from choreo.trafficgen.score import Score, score
from choreo.trafficgen.traffic import Generated, generate
from choreo.trafficgen.truth import Coord, RecordTruth, Truth
from tests.support.import_helpers import ok

SMALL = {
    "instances": 60,
    "duration_ms": 60 * MINUTE,
    "retention_lead_ms": 5 * MINUTE,
    "outage_ms": (10.0 * MINUTE, 20.0 * MINUTE),
    "slow_median_ms": (20_000.0, 90_000.0),
    "redelivery_delay_ms": (60_000.0, 300_000.0),
}


def small(**changes: Any) -> Knobs:
    return Knobs().with_(**{**SMALL, **changes})


_SHARES = st.sampled_from([0.0, 0.1, 0.3, 0.6, 1.0])
_RATES = st.sampled_from([0.0, 0.01, 0.05, 0.2])


def knob_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """Every knob the issue names, over realistic values and their corners; small sizes."""
    return st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "instances": st.integers(30, 70),
            "workflows": st.integers(1, 3),
            "retention_lead_ms": st.sampled_from([0, 5 * MINUTE, 30 * MINUTE]),
            "skew_ms": st.tuples(st.integers(-3000, 0), st.integers(0, 3000)),
            "replicas": st.sampled_from([(1, 1), (1, 3)]),
            "latency_median_ms": st.sampled_from([(45.0, 2500.0), (45.0, 300.0), (800.0, 5000.0)]),
            "slow_step_share": st.sampled_from([0.0, 0.1, 0.3]),
            "causation_header_share": st.sampled_from([0.0, 0.2, 0.5]),
            "causation_payload_share": st.sampled_from([0.0, 0.2, 0.5]),
            "event_id_share": _SHARES,
            "cloudevents_binary_share": _SHARES,
            "traceparent_share": _SHARES,
            "header_shape": st.sampled_from(["array", "map", "mixed"]),
            "id_suffix": _SHARES,
            "id_unlike": _SHARES,
            "id_nested": _SHARES,
            "id_key_only": _SHARES,
            "numeric_id_share": _SHARES,
            "fanout_share": _SHARES,
            "join_share": _SHARES,
            "loop_share": _SHARES,
            "bare_loop_share": _SHARES,
            "lifecycle_share": _SHARES,
            "alt_start_share": _SHARES,
            "secondary_id_share": _SHARES,
            "failure_rate": st.sampled_from([0.0, 0.08, 0.3]),
            "stall_rate": st.sampled_from([0.0, 0.05, 0.3]),
            "poison_per_10k": st.sampled_from([0.0, 13.0, 300.0]),
            "tombstone_rate": _RATES,
            "truncated_rate": _RATES,
            "dup_rate": _RATES,
            "redelivery_rate": _RATES,
            "outages": st.integers(0, 2),
            "outages_to_end": st.integers(0, 1),
            "customers_per_instance": st.sampled_from([0.02, 0.15, 1.0]),
            "key_by_customer_share": st.sampled_from([0.0, 0.05, 0.3]),
        }
    )


def knob_sweep() -> st.SearchStrategy[Knobs]:
    return knob_dicts().map(lambda d: small(**d))


def reconstruct(knobs: Knobs, out: Path) -> tuple[Generated, Score]:
    """Generate, `choreo import` in this process (no config), score."""
    g = generate(knobs)
    w = write(g, out)
    (out / "choreo.toml").write_text("")  # an empty config: nothing declared, nothing from the cwd
    ok("import", w.dump, "--db", out / DB, "--config", out / "choreo.toml")
    return g, score(g.truth, out / DB)


def _depths(records: Iterable[RecordTruth]) -> dict[Coord, int]:
    by = {r.coord: r for r in records}
    depth: dict[Coord, int] = {}

    def d(c: Coord) -> int:
        if c not in depth:
            cause = by[c].cause
            depth[c] = 0 if cause is None else d(cause) + 1
        return depth[c]

    for c in by:
        d(c)
    return depth


def oracle_store(truth: Truth, db: Path) -> None:
    """The derived tables a perfect reconstruction would write: every true instance exactly,
    causes first, duplicates marked, truly stuck ones flagged with what truly comes next."""
    events = [r for r in truth.records if r.is_event]
    depth = _depths(r for r in events if r.kind == "event")
    by_instance: dict[str | None, list[RecordTruth]] = defaultdict(list)
    for r in events:
        by_instance[r.instance].append(r)
    inst_rows, ev_rows, stuck_rows = [], [], []
    start = {w.name: w.start_types[0] for w in truth.workflows}
    for inst in truth.instances:
        mine = by_instance[inst.id]
        originals = sorted((r for r in mine if r.kind == "event"), key=lambda r: (r.true_ms, depth[r.coord]))
        seq = {r.coord: i for i, r in enumerate(originals)}
        for r in sorted((r for r in mine if r.kind == "duplicate"), key=lambda r: r.true_ms):
            seq[r.coord] = len(seq)
        iid = f"o:{inst.id}"
        for r in mine:
            dup = seq[r.duplicate_of] if r.duplicate_of is not None else None
            ev_rows.append((iid, r.topic, r.partition, r.offset, seq[r.coord], r.ts, 0, None, dup))
        last = originals[-1]
        inst_rows.append(
            (
                iid,
                start[inst.workflow],
                inst.status,
                inst.id,
                inst.first_ms,
                inst.last_ms,
                len(originals),
                len(mine) - len(originals),
                0,
                originals[0].type,
                last.type,
                last.service,
                last.topic,
                last.partition,
                last.offset,
                sorted({str(r.type) for r in originals}),
                None,
            )
        )
        if inst.status == "stuck" and not inst.ambiguous:
            stuck_rows.append(
                (
                    iid,
                    start[inst.workflow],
                    "overdue",
                    last.type,
                    last.service,
                    last.topic,
                    last.partition,
                    last.offset,
                    inst.expected,
                    inst.expected_services[0],
                    0,
                    "perfect",
                )
            )
    inst_cols = (
        "instance_id",
        "workflow",
        "status",
        "label",
        "start_ms",
        "end_ms",
        "n_events",
        "n_duplicates",
        "n_skewed",
        "first_type",
        "last_type",
        "last_service",
        "last_topic",
        "last_partition",
        "last_offset",
        "types",
        "variant",
    )
    ev_cols = (
        "instance_id",
        "topic",
        "partition",
        "offset",
        "seq",
        "adj_ts_ms",
        "skew_ms",
        "parent_seq",
        "duplicate_of_seq",
    )
    stuck_cols = (
        "instance_id",
        "workflow",
        "reason",
        "last_type",
        "last_service",
        "last_topic",
        "last_partition",
        "last_offset",
        "expected_types",
        "responsible_service",
        "silent_ms",
        "explanation",
    )
    with Store.open(db) as store:
        # Bulk inserts through Arrow: row-by-row executemany takes seconds for a few thousand rows.
        for table, cols, rows in (
            ("instances", inst_cols, inst_rows),
            ("instance_events", ev_cols, ev_rows),
            ("stuck", stuck_cols, stuck_rows),
        ):
            if not rows:
                continue
            data = pa.table({c: [row[i] for row in rows] for i, c in enumerate(cols)})
            store.con.register("_oracle", data)
            names = ", ".join(f'"{c}"' for c in cols)
            store.con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _oracle")
            store.con.unregister("_oracle")
