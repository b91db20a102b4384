"""Benchmark: full reconstruction (stitching, ordering, model, status) of 1M and
10M events, against pm4py on the same log and a bare DuckDB GROUP BY.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/reconstruct.py [--sizes 1000000,10000000]

The log is realistic: three workflows (an order saga with declines,
stock-outs and stuck instances; a sign-up fan-out with a missing branch; a
video pipeline with causation ids and rejections), identifiers that link
transitively (ShipmentDelivered carries only the shipment id, the inventory
events only a nested order.id), a customer id and a tenant id shared by many
instances (traps), one service whose clock runs 2.5 s behind for a fifth of
the instances, and 1% redelivered duplicates. Stores are generated once into
bench/results/ and reused.

Each measurement runs in its own process (``--repeat`` times; the fastest
run counts, which is fair to both sides on a shared machine), so peak RSS is
that step's own:
- choreo: ``reconstruct.pipeline.rebuild`` on the store (everything, from
  scratch, including writing the derived tables);
- pm4py (reference, the easy job: it is handed the true case id):
  ``discover_dfg`` + ``get_variants`` + ``discover_performance_dfg`` on a
  DataFrame of the same events (loading the DataFrame is not timed);
- floor: ``SELECT event_type, count(*), min(ts_ms), max(ts_ms) FROM events GROUP BY 1``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the package it measures: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
RESULTS = ROOT / "bench" / "results"
T0 = 1_714_550_400_000

# (workflow, variant, weight, steps); a step is (event type, service, topic,
# delay after the previous step in ms, identifier kinds it carries).
Step = tuple[str, str, str, int, list[str]]
_ORDER_OK: list[Step] = [
    ("OrderCreated", "order-service", "orders", 0, ["orderId", "customerId"]),
    ("PaymentCompleted", "payment-service", "payments", 180, ["order.id", "paymentId", "customerId"]),
    ("InventoryReserved", "inventory-service", "inventory", 120, ["order.id"]),
    ("ShipmentScheduled", "shipping-service", "shipping", 250, ["orderId", "shipmentId"]),
    ("ShipmentDelivered", "carrier-service", "shipping", 900, ["shipmentId"]),
    ("OrderCompleted", "order-service", "orders", 60, ["orderId", "customerId"]),
]
_ORDER_DECLINED: list[Step] = [
    _ORDER_OK[0],
    ("PaymentDeclined", "payment-service", "payments", 150, ["order.id", "paymentId", "customerId"]),
    ("OrderRejected", "order-service", "orders", 40, ["orderId", "customerId"]),
]
_ORDER_STOCKOUT: list[Step] = [
    *_ORDER_OK[:2],
    ("InventoryUnavailable", "inventory-service", "inventory", 110, ["order.id"]),
    ("PaymentRefunded", "payment-service", "payments", 200, ["order.id", "paymentId"]),
    ("OrderCancelled", "order-service", "orders", 50, ["orderId", "customerId"]),
]
_SIGNUP: list[Step] = [
    ("UserSignedUp", "user-service", "users", 0, ["userId", "tenantId"]),
    ("WelcomeEmailSent", "notification-service", "notifications", 300, ["userId"]),
    ("SignupTracked", "analytics-service", "analytics", -200, ["user.id", "tenantId"]),
    ("RecommendationsSeeded", "recommendation-service", "recommendations", 150, ["userId"]),
]
_VIDEO_OK: list[Step] = [
    ("VideoUploaded", "upload-service", "videos", 0, ["videoId", "channelId"]),
    ("VideoApproved", "moderation-service", "moderation", 2000, ["videoId"]),
    ("VideoTranscoded", "transcoder", "transcoding", 30000, ["videoId", "assetId"]),
    ("VideoIndexed", "indexer", "search", 1500, ["assetId"]),
    ("VideoPublished", "publisher", "publishing", 400, ["videoId", "channelId"]),
]
_VIDEO_REJECTED: list[Step] = [
    _VIDEO_OK[0],
    ("VideoRejected", "moderation-service", "moderation", 1800, ["videoId", "channelId"]),
]
VARIANTS: list[tuple[str, str, float, list[Step]]] = [
    ("order", "ok", 0.78, _ORDER_OK),
    ("order", "declined", 0.10, _ORDER_DECLINED),
    ("order", "stockout", 0.08, _ORDER_STOCKOUT),
    ("order", "stuck-inventory", 0.02, _ORDER_OK[:2]),
    ("order", "stuck-carrier", 0.02, _ORDER_OK[:4]),
    ("signup", "all", 0.95, _SIGNUP),
    ("signup", "no-recommendation", 0.05, _SIGNUP[:3]),
    ("video", "ok", 0.9, _VIDEO_OK),
    ("video", "rejected", 0.1, _VIDEO_REJECTED),
]
WORKFLOW_SHARE = {"order": 0.5, "signup": 0.25, "video": 0.25}
EVENTS_PER_INSTANCE = 4.9  # mean over the mix above


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: Path, n_events: int) -> dict[str, Any]:
    """Write a store of about ``n_events`` events, and a parquet file for pm4py."""
    import duckdb
    import pyarrow as pa

    from choreo.core.store import Store

    n_inst = int(n_events / EVENTS_PER_INSTANCE)
    tpl: dict[str, list[Any]] = {
        k: [] for k in ("wf", "variant", "step", "etype", "svc", "topic", "at", "ids")
    }
    weights: dict[str, list[Any]] = {"wf": [], "variant": [], "lo": [], "hi": []}
    acc: dict[str, float] = {}
    for wf, variant, w, steps in VARIANTS:
        lo = acc.get(wf, 0.0)
        acc[wf] = lo + w
        weights["wf"].append(wf)
        weights["variant"].append(variant)
        weights["lo"].append(lo)
        weights["hi"].append(lo + w)
        at = 0
        for i, (etype, svc, topic, delay, ids) in enumerate(steps):
            at = at + delay if delay >= 0 else at + 300 + delay  # negative: sibling of the previous
            for k, v in zip(
                ("wf", "variant", "step", "etype", "svc", "topic", "at", "ids"),
                (wf, variant, i, etype, svc, topic, at, ids),
                strict=True,
            ):
                tpl[k].append(v)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    Store.open(tmp).close()
    con = duckdb.connect(str(tmp))
    con.register("tpl_src", pa.table(tpl))
    con.register("w_src", pa.table(weights))
    con.execute("CREATE TEMP TABLE tpl AS SELECT * FROM tpl_src")
    con.execute("CREATE TEMP TABLE w AS SELECT * FROM w_src")
    o, s = WORKFLOW_SHARE["order"], WORKFLOW_SHARE["signup"]
    con.execute(
        f"""
        CREATE TEMP TABLE inst AS
        WITH r AS (
            SELECT range AS i, (hash(range, 'wf') % 1000000) / 1000000.0 AS u,
                   (hash(range, 'variant') % 1000000) / 1000000.0 AS v
            FROM range({n_inst})
        )
        SELECT r.i, x.wf, w.variant, {T0} + r.i * 20 + (hash(r.i) % 15)::BIGINT AS t0
        FROM (SELECT i, v,
                     CASE WHEN u < {o} THEN 'order' WHEN u < {o + s} THEN 'signup' ELSE 'video' END AS wf
              FROM r) x
        JOIN r USING (i)
        JOIN w ON w.wf = x.wf AND x.v >= w.lo AND x.v < w.hi
        """
    )
    n_customers = max(1, n_inst // 16)
    con.execute(
        """
        CREATE TEMP TABLE ev AS
        WITH e AS (
            SELECT inst.i, tpl.step, tpl.etype, tpl.svc, tpl.topic, tpl.ids, inst.wf,
                   inst.t0 + tpl.at + (hash(inst.i, tpl.step) % 40)::BIGINT
                     - CASE WHEN tpl.svc = 'inventory-service' AND inst.i % 5 = 0 THEN 2500 ELSE 0 END AS ts
            FROM inst JOIN tpl USING (wf, variant)
        ),
        d AS (
            SELECT *, false AS dup FROM e
            UNION ALL
            SELECT i, step, etype, svc, topic, ids, wf, ts + 35, true
            FROM e WHERE hash(i, step, 'dup') % 100 = 0
        )
        SELECT *, (hash(i) % 6)::INTEGER AS partition,
               'ev-' || i || '-' || step AS event_id,
               CASE WHEN step = 0 THEN NULL
                    WHEN wf = 'signup' THEN 'ev-' || i || '-0'
                    ELSE 'ev-' || i || '-' || (step - 1) END AS causation_id
        FROM d
        """
    )
    value = f"""
        CASE k WHEN 'orderId' THEN 'ord-' || i WHEN 'order.id' THEN 'ord-' || i
               WHEN 'customerId' THEN 'cus-' || (hash(i, 'c') % {n_customers})
               WHEN 'paymentId' THEN 'pay-' || i WHEN 'shipmentId' THEN 'shp-' || i
               WHEN 'userId' THEN 'usr-' || i WHEN 'user.id' THEN 'usr-' || i
               WHEN 'tenantId' THEN 'ten-' || (i % 40) WHEN 'videoId' THEN 'vid-' || i
               WHEN 'channelId' THEN 'chn-' || (i % 700) WHEN 'assetId' THEN 'ast-' || i END"""
    con.execute(
        f"""
        CREATE TEMP TABLE evo AS
        SELECT *, row_number() OVER (PARTITION BY topic, partition ORDER BY ts, i, step, dup) - 1 AS "offset",
               list_transform(ids, lambda k: {value}) AS vals
        FROM ev
        """
    )
    con.execute(
        """
        INSERT INTO events
        SELECT topic, partition, "offset", ts, 1, encode(vals[1]), [], encode(
                 '{"type":"' || etype || '","eventId":"' || event_id || '"'
                 || coalesce(',"causationId":"' || causation_id || '"', '')
                 || list_reduce(list_transform(list_zip(ids, vals),
                        lambda p: ',"' || replace(p[1], '.', '_') || '":"' || p[2] || '"'),
                    lambda a, b: a || b)
                 || ',"service":"' || svc || '","amount":' || (i % 997) || '.5,"currency":"EUR"}'),
               'json', etype, svc, event_id, causation_id, NULL, ts, 'import:bench', 0
        FROM evo
        """
    )
    # Like a collector's batches: each event's identifiers together, in event order.
    con.execute(
        """
        INSERT INTO identifiers
        SELECT topic, partition, "offset",
               unnest(list_concat(ids, ['key'])), unnest(list_concat(vals, [vals[1]]))
        FROM evo
        """
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (SELECT 'c' || i AS case_id, etype AS activity, make_timestamp(ts * 1000) AS ts FROM evo)
        TO '{_pm4py_input(path)}' (FORMAT parquet)
        """
    )
    n = con.execute("SELECT count(*) FROM events").fetchone()
    con.execute("CHECKPOINT")
    con.close()
    tmp.rename(path)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return {"events": int(n[0]) if n else 0, "instances": n_inst}


def _pm4py_input(path: Path) -> Path:
    return path.with_suffix(".pm4py.parquet")


def run_choreo(path: Path) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from choreo.core.store import Store
    from choreo.reconstruct.engine.pipeline import rebuild

    # pyarrow imports pandas on its first numpy conversion when pandas is
    # installed: here only because pm4py needs it (a choreo install has no
    # pandas). Not reconstruction work, so done before the clock starts, as
    # pm4py's side imports pandas before its clock starts.
    pa.array(np.zeros(1))
    with Store.open(path) as store:
        row = store.con.execute("SELECT max(ts_ms) FROM events").fetchone()
        t, c = time.perf_counter(), time.process_time()
        stats = rebuild(store, now_ms=int(row[0]) + 3_600_000 if row else None)
        secs, cpu = time.perf_counter() - t, time.process_time() - c
    return {
        "seconds": secs,
        "cpu": cpu,
        "rss_mb": _rss_mb(),
        "instances": stats.instances,
        "stuck": stats.stuck,
        "duplicates": stats.duplicates,
        "skewed": stats.skewed,
        "workflows": stats.workflows,
        "traps": stats.traps,
    }


def run_pm4py(path: Path) -> dict[str, Any]:
    import pandas as pd
    import pm4py

    df = pd.read_parquet(_pm4py_input(path))
    keys = {"case_id_key": "case_id", "activity_key": "activity", "timestamp_key": "ts"}
    t, c = time.perf_counter(), time.process_time()
    pm4py.discover_dfg(df, **keys)
    variants = pm4py.get_variants(df, **keys)
    pm4py.discover_performance_dfg(df, **keys)
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    return {"seconds": secs, "cpu": cpu, "rss_mb": _rss_mb(), "variants": len(variants)}


def run_floor(path: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    t, c = time.perf_counter(), time.process_time()
    con.execute("SELECT event_type, count(*), min(ts_ms), max(ts_ms) FROM events GROUP BY 1").fetchall()
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    con.close()
    return {"seconds": secs, "cpu": cpu, "rss_mb": _rss_mb()}


def _child(kind: str, path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--skip-pm4py", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "STORE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, store = args.child
        fn = {"choreo": run_choreo, "pm4py": run_pm4py, "floor": run_floor}[kind]
        print(json.dumps(fn(Path(store))))
        return
    print(
        f"{'events':>11}  {'choreo s':>9}  {'RSS MB':>7}  {'pm4py s':>8}  {'RSS MB':>7}  "
        f"{'pm4py/choreo':>12}  {'floor s':>8}  {'choreo/floor':>12}  target"
    )
    for size in (int(x) for x in args.sizes.split(",")):
        path = RESULTS / f"reconstruct-{size}.duckdb"
        if not path.exists():
            t = time.perf_counter()
            info = generate(path, size)
            print(
                f"# generated {info['events']:,} events ({info['instances']:,} instances) "
                f"in {time.perf_counter() - t:.0f}s -> {path}",
                file=sys.stderr,
            )

        def best(kind: str, path: Path = path) -> dict[str, Any]:
            runs = [_child(kind, path) for _ in range(max(1, args.repeat))]
            return min(runs, key=lambda r: float(r["seconds"]))

        floor = best("floor")
        ours = best("choreo")
        ref = best("pm4py") if not args.skip_pm4py else None
        target = 3.0 if size <= 1_000_000 else 30.0
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
        row = con.execute("SELECT count(*) FROM events").fetchone()
        con.close()
        n = int(row[0]) if row else 0
        ok = ours["seconds"] <= target * n / size and ours["rss_mb"] < 8192
        ref_s = (
            f"{ref['seconds']:8.2f}  {ref['rss_mb']:7.0f}  {ref['seconds'] / ours['seconds']:11.1f}x"
            if ref
            else (f"{'-':>8}  {'-':>7}  {'-':>12}")
        )
        print(
            f"{n:>11,}  {ours['seconds']:9.2f}  {ours['rss_mb']:7.0f}  {ref_s}  {floor['seconds']:8.3f}  "
            f"{ours['seconds'] / floor['seconds']:11.0f}x  <= {target:.0f}s {'OK' if ok else 'MISSED'}"
        )
        print(
            f"# CPU seconds (all threads): choreo {ours['cpu']:.2f}"
            + (f", pm4py {ref['cpu']:.2f} (ratio {ref['cpu'] / ours['cpu']:.1f}x)" if ref else "")
            + f", floor {floor['cpu']:.3f}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            file=sys.stderr,
        )
        print(
            f"# choreo: {ours['instances']:,} instances, {ours['workflows']} workflows, "
            f"{ours['stuck']:,} stuck, "
            f"{ours['duplicates']:,} duplicates, {ours['skewed']:,} skew-adjusted, traps {ours['traps']}"
            + (f"; pm4py variants {ref['variants']}" if ref else ""),
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
