"""Export benchmark: `choreo export xes|ocel|otel` against DuckDB writing the same rows.

Builds a store of N order sagas (about five events each, through the real
extractor and reconstruction), then, each in a fresh process:
  reference  DuckDB ``COPY (the XES row query) TO '...csv'``: the cost of
             just getting the rows out of the store;
  xes        ``choreo export xes``;
  ocel-json, ocel-sqlite, ocel-xml
             ``choreo export ocel`` in each OCEL 2.0 format (the log read
             back and validated after writing is part of the time);
  otel       ``choreo export otel`` (OTLP/JSON Lines file);
  workflow   ``choreo export workflow --format dot`` (about the fixed cost
             of a command: start-up and the freshness check);
and prints seconds, events/s, the ratio to the reference, CPU seconds (all
threads; steadier than wall time on a shared machine) and peak RSS. With
``--compare M`` it repeats at M orders to show that memory does not grow
with the store (the exports stream). With pm4py installed (``make bench``),
the XES file and the OCEL JSON file are also read back by pm4py and their
counts checked against the store.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/export.py
    flock /tmp/choreo-bench.lock .venv/bin/python bench/export.py --orders 40000 --compare 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
# bench/reconstruct.py is named like the package: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

BASE_MS = 1_714_557_600_000
STEPS = [
    ("OrderPlaced", "order-service", "orders"),
    ("PaymentAuthorized", "payment-service", "payments"),
    ("InventoryReserved", "inventory-service", "inventory"),
    ("ShipmentScheduled", "shipping-service", "shipments"),
    ("ShipmentDelivered", "shipping-service", "shipments"),
]
XES_ROWS = (
    "SELECT i.instance_id, i.workflow, i.status, i.label, ie.adj_ts_ms, ie.skew_ms, e.event_type, "
    'e.service, e.topic, e.partition, e."offset", e.event_id FROM instances i '
    'JOIN instance_events ie USING (instance_id) JOIN events e USING (topic, partition, "offset") '
    "WHERE ie.duplicate_of_seq IS NULL ORDER BY i.instance_id, ie.seq"
)


def now_for(orders: int) -> int:
    """The "now" the store is reconstructed at; passed to the exports so they
    measure exporting, not re-judging the store at the wall clock."""
    return BASE_MS + orders * 50 + 3_600_000


def build(path: Path, orders: int) -> int:
    from choreo.collector.batch import EventBatch
    from choreo.collector.extract import Extractor
    from choreo.core.store import Store
    from choreo.reconstruct.engine.pipeline import rebuild

    offsets: dict[tuple[str, int], int] = {}
    n = 0
    with Store.open(path) as store:
        batch = EventBatch(Extractor(), "bench")
        for i in range(orders):
            ts = BASE_MS + i * 50
            # 1 in 20 orders stops after payment: stuck.
            steps = STEPS[:2] if i % 20 == 7 else STEPS
            for k, (etype, svc, topic) in enumerate(steps):
                ts += 150 + (i * 7 + k * 13) % 400
                doc = {"type": etype, "service": svc, "eventId": f"e{i}-{k}", "orderId": f"o-{i}"}
                if k:
                    doc["causationId"] = f"e{i}-{k - 1}"
                part = i % 3
                off = offsets.get((topic, part), 0)
                offsets[(topic, part)] = off + 1
                batch.add(topic, part, off, ts, 1, f"o-{i}".encode(), None, orjson.dumps(doc))
                n += 1
            if len(batch) >= 50_000:
                store.append(*batch.tables())
                batch.clear()
        store.append(*batch.tables())
        rebuild(store, now_ms=now_for(orders))
    return n


def child(kind: str, db: str, out: str, now: str) -> None:
    """Run one measured step in this (fresh) process; print seconds and peak RSS."""
    t0 = time.perf_counter()
    if kind == "reference":
        import duckdb

        con = duckdb.connect(db, read_only=True)
        con.execute(f"COPY ({XES_ROWS}) TO '{out}' (HEADER)")
        con.close()
    else:
        from choreo.cli.main import main

        argv = {
            "xes": ["export", "xes", "-o", out],
            "ocel-json": ["export", "ocel", "-o", out],
            "ocel-sqlite": ["export", "ocel", "-o", out],
            "ocel-xml": ["export", "ocel", "-o", out],
            "otel": ["export", "otel", "-o", out],
            "workflow": ["export", "workflow", "--format", "dot", "-o", out],
        }[kind] + ["--db", db, "--now", now]
        try:
            main(argv)
        except SystemExit as exc:
            if exc.code:
                raise
    seconds = time.perf_counter() - t0
    # CPU seconds (all threads): steadier than wall time on a shared machine.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    # VmHWM, not ru_maxrss: Linux carries the parent's peak over fork+exec into ru_maxrss.
    status = Path("/proc/self/status").read_text()
    rss_mb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": rss_mb}))


def measure(kind: str, db: Path, out: Path, now: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(db), str(out), str(now)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["mb"] = out.stat().st_size / 1e6
    return result


STEPS_RUN = (
    ("reference", "csv"),
    ("xes", "xes"),
    ("ocel-json", "jsonocel"),
    ("ocel-sqlite", "sqlite"),
    ("ocel-xml", "xmlocel"),
    ("otel", "jsonl"),
    ("workflow", "dot"),
)


def run(orders: int, tmp: Path) -> dict[str, dict[str, float]]:
    db = tmp / f"bench-{orders}.duckdb"
    t0 = time.perf_counter()
    events = build(db, orders)
    print(f"\n{orders:,} orders, {events:,} events (store built in {time.perf_counter() - t0:.1f}s)")
    results = {}
    for kind, suffix in STEPS_RUN:
        results[kind] = measure(kind, db, tmp / f"out-{orders}.{suffix}", now_for(orders))
    ref = results["reference"]["seconds"]
    head = ("step", "seconds", "events/s", "x ref", "CPU s", "peak RSS", "output")
    print("{:<12} {:>8} {:>11} {:>7} {:>7} {:>9} {:>9}".format(*head))
    for kind, r in results.items():
        print(
            f"{kind:<12} {r['seconds']:>8.2f} {events / r['seconds']:>11,.0f} "
            f"{r['seconds'] / ref:>7.2f} {r['cpu']:>7.2f} {r['rss_mb']:>6.0f} MB {r['mb']:>6.1f} MB"
        )
    try:
        import pm4py
    except ImportError:
        print("pm4py not installed (make bench): XES and OCEL read-back skipped")
    else:
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        cases, n = con.execute("SELECT count(*), sum(n_events) FROM instances").fetchone() or (0, 0)
        con.close()
        t0 = time.perf_counter()
        log = pm4py.read_xes(str(tmp / f"out-{orders}.xes"), return_legacy_log_object=True)
        got = (len(log), sum(len(trace) for trace in log))
        print(
            f"pm4py read the XES back in {time.perf_counter() - t0:.1f}s: "
            f"{got[0]:,} cases, {got[1]:,} events "
            f"({'equal to' if got == (cases, n) else 'DIFFERENT FROM'} the store's {cases:,} and {n:,})"
        )
        t0 = time.perf_counter()
        ocel = pm4py.read_ocel2_json(str(tmp / f"out-{orders}.jsonocel"))
        sagas = int((ocel.objects["ocel:type"].str.startswith("saga:")).sum())
        same = "equal to" if (len(ocel.events), sagas) == (n, cases) else "DIFFERENT FROM"
        print(
            f"pm4py read the OCEL JSON back in {time.perf_counter() - t0:.1f}s: {len(ocel.events):,} events, "
            f"{len(ocel.objects):,} objects ({sagas:,} instances), {len(ocel.relations):,} event-object "
            f"relations (events and instances {same} the store's)"
        )
    return results


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--compare", type=int, default=5_000, help="a smaller run for the memory comparison")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="choreo-bench-") as d:
        big = run(args.orders, Path(d))
        if args.compare:
            small = run(args.compare, Path(d))
            print(
                f"\npeak RSS at {args.orders:,} vs {args.compare:,} orders: "
                + ", ".join(
                    f"{k} {big[k]['rss_mb']:.0f}/{small[k]['rss_mb']:.0f} MB"
                    for k in ("xes", "ocel-json", "ocel-sqlite", "ocel-xml", "otel")
                )
            )


if __name__ == "__main__":
    main()
