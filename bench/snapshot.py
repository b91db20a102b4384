"""Readers beside a writer: how old is what they read, and what it costs the writer.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/snapshot.py [--events 1200000] [--seconds 60]

A store of ``--events`` realistic events (bench/workload.py: JSON payloads
of about 300 bytes, 3 headers, 6 identifiers each) is written once. Then,
for each way of publishing, a writer process opens a copy of it and appends
batches of 5,000 new events as fast as it can (the extraction and the store
append of ``choreo collect``, without Kafka) for ``--seconds``, while this
process reads beside it every half second as every reading command does
(``open_for_reading``: the store is locked, so the newest snapshot), and
counts its events:

- none: no snapshots (the writer's throughput alone);
- copy: the whole-file-copy publisher choreo had before (the reference,
  bench/snapshot_reference.py: a CHECKPOINT and a copy of the store file,
  spaced to take at most a tenth of the time);
- incremental: ``choreo.core.snapshot_publish.Publisher`` (a CHECKPOINT and
  a copy of only the blocks that changed, into one of two files).

Per way: the writer's events/s (and its ratio to none), publishes, and two
ages per read, median and max: *published* (now - when the snapshot read was
published) and *missing* (now - the commit time of the oldest commit the
reader does not see; 0 when it sees them all: how old the newest data it
lacks is). Results go to stdout and bench/results/snapshot-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
MODES = ("none", "copy", "incremental")
BATCH = 5_000


def _records(start: int, n: int) -> list[Any]:
    from workload import PARTITIONS, event

    out = []
    for i in range(start, start + n):
        ev = event(i)
        headers = [(h, v.encode()) for h, v in ev.headers]
        out.append(
            (
                ev.topic,
                i % PARTITIONS,
                i,
                1_714_557_600_000 + i,
                1,
                ev.key.encode(),
                headers,
                ev.payload.encode(),
            )
        )
    return out


def writer(db: str, mode: str, seconds: float, fill: int) -> None:
    """The writer process: append batches (until ``fill`` events, or for ``seconds``)."""
    sys.path.insert(0, str(BENCH))
    from snapshot_reference import CopyPublisher

    from choreo.collector.batch import EventBatch
    from choreo.collector.extract import Extractor
    from choreo.core.snapshot_publish import Publisher
    from choreo.core.store import Store

    extractor = Extractor()
    with Store.open(db) as store:
        n = store.count_events()
        pub: Publisher | CopyPublisher | None = None
        if mode == "copy":
            pub = CopyPublisher(store, "bench writer")
        elif mode == "incremental":
            pub = Publisher(store, "bench writer")
        if pub is not None:
            pub.start()
        t0 = time.monotonic()
        first = n
        while (fill and n < fill) or (not fill and time.monotonic() - t0 < seconds):
            batch = EventBatch(extractor, "collect:bench")
            batch.add_records(_records(n, BATCH))
            events, ids = batch.tables()
            store.append(events, ids)
            n += BATCH
            print(f"{n} {time.time():.3f}", flush=True)
        elapsed = time.monotonic() - t0
        if pub is not None:
            pub.stop()
        published = pub.published if pub is not None else 0
        blocks = getattr(pub, "last_copied", 0) if pub is not None else 0
    print(f"done {n - first} {elapsed:.3f} {published} {blocks}", flush=True)


class Run:
    def __init__(self, db: Path, mode: str, seconds: float) -> None:
        self.mode = mode
        self.commits: list[tuple[int, float]] = []
        self.done: tuple[int, float, int, int] | None = None
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--writer", str(db), mode, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            parts = line.split()
            if parts[0] == "done":
                self.done = (int(parts[1]), float(parts[2]), int(parts[3]), int(parts[4]))
            else:
                with self._lock:
                    self.commits.append((int(parts[0]), float(parts[1])))

    def missing_age(self, count: int, at: float) -> float:
        """How old the oldest commit is that a reader seeing ``count`` events lacks."""
        with self._lock:
            for n, t in self.commits:
                if n > count:
                    return max(0.0, at - t)
        return 0.0


def read_beside(db: Path, run: Run) -> list[tuple[float, float]]:
    """Read every half second until the writer is done: (published age, missing age)."""
    from choreo.core.snapshot import SnapshotStore, open_for_reading

    ages: list[tuple[float, float]] = []
    while run.proc.poll() is None and run.done is None:
        at = time.time()
        try:
            with open_for_reading(db, writable=False, wait=2.0) as store:
                if isinstance(store, SnapshotStore):
                    count = store.count_events()
                    published = store.snapshot.published_ms / 1000
                    ages.append((max(0.0, at - published), run.missing_age(count, at)))
        except Exception as exc:  # the writer's first snapshot may not be there yet
            if ages:
                print(f"  read failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        time.sleep(max(0.0, 0.5 - (time.time() - at)))
    return ages


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "max": float("nan")}
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}


def _summary(mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    ages = [a for r in runs for a in r["ages"]]
    return {
        "mode": mode,
        "events_per_s": round(statistics.median(r["events_per_s"] for r in runs)),
        "events_per_s_runs": [r["events_per_s"] for r in runs],
        "publishes": sum(r["publishes"] for r in runs),
        "reads": len(ages),
        "published_age_s": _stats([a for a, _ in ages]),
        "missing_age_s": _stats([m for _, m in ages]),
        "store_mb": [min(r["store_mb_start"] for r in runs), max(r["store_mb_end"] for r in runs)],
    }


def measure(base: Path, work: Path, mode: str, seconds: float) -> dict[str, Any]:
    db = work / f"{mode}.duckdb"
    shutil.copyfile(base, db)
    size_mb = db.stat().st_size / 1e6
    run = Run(db, mode, seconds)
    ages = read_beside(db, run) if mode != "none" else []
    run.proc.wait()
    run._thread.join()
    assert run.done is not None, f"the {mode} writer did not finish"
    events, elapsed, published, blocks = run.done
    out = {
        "mode": mode,
        "store_mb_start": round(size_mb),
        "store_mb_end": round(db.stat().st_size / 1e6),
        "events_per_s": round(events / elapsed),
        "events": events,
        "publishes": published,
        "blocks_copied_last": blocks,
        "reads": len(ages),
        "ages": ages,
    }
    for p in work.glob(f"{mode}.duckdb*"):
        p.unlink()
    return out


def main() -> None:
    from choreo.core.store import Store

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_200_000, help="events in the store before the runs")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long each writer writes")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--repeat", type=int, default=2, help="runs per way, interleaved (the machine is shared)")
    ap.add_argument("--base", type=Path, help="a store written by an earlier run (--events ignored)")
    ap.add_argument("--keep-base", type=Path, help="keep the store written here, for --base")
    ap.add_argument("--writer", nargs=3, metavar=("DB", "MODE", "SECONDS"), help=argparse.SUPPRESS)
    ap.add_argument("--fill", nargs=2, metavar=("DB", "EVENTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        writer(args.writer[0], args.writer[1], float(args.writer[2]), 0)
        return
    if args.fill:
        writer(args.fill[0], "none", 0.0, int(args.fill[1]))
        return
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="choreo-snapshot-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        work = Path(tmp)
        base = args.base or work / "base.duckdb"
        if args.base is None:
            t0 = time.monotonic()
            subprocess.run(
                [sys.executable, __file__, "--fill", str(base), str(args.events)],
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            print(f"store written in {time.monotonic() - t0:.0f} s")
            if args.keep_base:
                shutil.copyfile(base, args.keep_base)
        with Store.open(base, read_only=True) as store:
            args.events = store.count_events()
        print(f"store: {args.events:,} events, {base.stat().st_size / 1e6:.0f} MB")
        runs = []
        for _round in range(args.repeat):
            for mode in args.modes.split(","):
                r = measure(base, work, mode, args.seconds)
                runs.append(r)
                print(json.dumps({k: v for k, v in r.items() if k != "ages"}), flush=True)
    load1 = os.getloadavg()
    results = [_summary(mode, [r for r in runs if r["mode"] == mode]) for mode in args.modes.split(",")]
    none = next((r for r in results if r["mode"] == "none"), None)
    print(f"\nload average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end")
    print(f"{args.repeat} runs of {args.seconds:.0f} s per way, interleaved; events/s: median of the runs")
    head = f"{'':12} {'events/s':>9} {'vs none':>8} {'publishes':>9}"
    print(f"{head}  published age median/max  missing median/max")
    for r in results:
        ratio = f"{r['events_per_s'] / none['events_per_s']:.2f}" if none else "-"
        pa, ma = r["published_age_s"], r["missing_age_s"]
        print(
            f"{r['mode']:12} {r['events_per_s']:>9,} {ratio:>8} {r['publishes']:>9}  "
            f"{pa['median']:>8} / {pa['max']:<8}          {ma['median']:>6} / {ma['max']}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"snapshot-{time.strftime('%Y%m%d-%H%M%S')}.json"
    doc = {"events": args.events, "load": [load0, load1], "summary": results, "runs": runs}
    out.write_text(json.dumps(doc, indent=2))
    print(f"\n{out}")


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    main()
