"""Ingest benchmark: `choreo collect` against kcat on the same backlog.

Fills the embedded cluster with N realistic events (JSON payloads of about
300 bytes, 3 headers, 4 topics x 3 partitions), then reads all of them
(a) with ``kcat -C -J`` to /dev/null -- the reference -- and (b) with
``choreo collect --from earliest --until-idle 2`` into a fresh store. Prints
both rates, the ratio and each reader's peak RSS; repeated at a smaller
backlog to show the collector's memory does not grow with the backlog.

    flock /tmp/choreo-bench.lock .venv/bin/python bench/ingest.py
    flock /tmp/choreo-bench.lock .venv/bin/python bench/ingest.py --events 200000 --compare 50000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from workload import PARTITIONS, TOPICS, event

from choreo.demo.embedded_cluster import EmbeddedCluster

IDLE = 2.0


def _produce(bootstrap: str, start: int, count: int) -> None:
    from confluent_kafka import Producer

    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 200,
            "batch.size": 1_000_000,
            "batch.num.messages": 100_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "acks": 1,
            "compression.type": "zstd",
        }
    )
    for i in range(start, start + count):
        ev = event(i)
        topic = ev.topic
        payload = ev.payload
        headers = [(name, value.encode()) for name, value in ev.headers]
        while True:
            try:
                p.produce(topic, value=payload.encode(), key=ev.key.encode(), headers=headers)
                break
            except BufferError:
                p.poll(0.05)
    if p.flush(300):
        raise SystemExit("producer could not deliver everything")


def fill(bootstrap: str, n: int, procs: int = 2) -> float:
    """Produce n events from several processes; returns seconds taken."""
    ctx = mp.get_context("spawn")  # the cluster's threads live in this process: never fork
    share = n // procs
    t0 = time.perf_counter()
    workers = [
        ctx.Process(target=_produce, args=(bootstrap, k * share, share if k < procs - 1 else n - k * share))
        for k in range(procs)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise SystemExit("a producer process failed")
    return time.perf_counter() - t0


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    records: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def _watch(cmd: list[str], stdout: int | None = None) -> tuple[int, float, float, str]:
    """Run cmd; return (exit code, wall seconds, peak RSS MB, stderr)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                peak = max(peak, ps.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        err.seek(0)
        return proc.returncode, wall, peak / 2**20, err.read().decode(errors="replace")


def run_kcat(bootstrap: str, n: int) -> Run:
    # One process, all topics, as a consumer group (like choreo), JSON envelope.
    cmd = ["kcat", "-C", "-J", "-q", "-e", "-b", bootstrap, "-G", f"kcat-{time.time_ns()}", *TOPICS]
    cmd[-len(TOPICS) :] = TOPICS
    cmd += ["-X", "auto.offset.reset=earliest"]
    with Path("/dev/null").open("wb") as devnull:
        rc, wall, peak, err = _watch(cmd, stdout=devnull.fileno())
    if rc != 0:
        raise SystemExit(f"kcat failed: {err.strip()}")
    return Run(wall, peak, n)


def run_choreo(bootstrap: str, n: int, db: Path) -> Run:
    choreo = str(Path(sys.executable).with_name("choreo"))
    cmd = [
        choreo, "collect", "-b", bootstrap, "-t", "bench-.*", "--from", "earliest",
        "--until-idle", str(IDLE), "--db", str(db), "-g", f"bench-{time.time_ns()}",
    ]  # fmt: skip
    rc, wall, peak, err = _watch(cmd)
    if rc != 0:
        raise SystemExit(f"choreo collect failed: {err.strip()}")
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT count(*) FROM events").fetchone()
    con.close()
    stored = int(row[0]) if row else 0
    if stored != n:
        raise SystemExit(f"choreo stored {stored} of {n} events")
    # The run ends after IDLE seconds without records: that wait is not reading.
    return Run(wall - IDLE, peak, n)


def measure(n: int, workdir: Path) -> tuple[Run, Run, float]:
    with EmbeddedCluster(1) as cluster:
        for t in TOPICS:
            cluster.create_topic(t, PARTITIONS)
        took = fill(cluster.bootstrap, n)
        print(f"filled {n:,} events in {took:.1f}s ({n / took:,.0f}/s)", flush=True)
        kcat = run_kcat(cluster.bootstrap, n)
        db = workdir / f"ingest-{n}.duckdb"
        choreo = run_choreo(cluster.bootstrap, n, db)
        size = db.stat().st_size / 2**20
    return kcat, choreo, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--compare", type=int, default=250_000, help="smaller backlog for the RSS comparison")
    args = ap.parse_args()
    if shutil.which("kcat") is None:
        raise SystemExit("kcat is not installed (scripts/install-tools.sh); it is the reference")
    rows = []
    with tempfile.TemporaryDirectory(prefix="choreo-bench-") as tmp:
        for n in (args.events, args.compare):
            kcat, choreo, size = measure(n, Path(tmp))
            rows.append((n, kcat, choreo, size))
    print()
    print(f"{'events':>10} {'kcat ev/s':>11} {'choreo ev/s':>12} {'ratio':>6} "
          f"{'kcat RSS':>9} {'choreo RSS':>11} {'store MB':>9}")  # fmt: skip
    for n, kcat, choreo, size in rows:
        print(
            f"{n:>10,} {kcat.rate:>11,.0f} {choreo.rate:>12,.0f} {choreo.rate / kcat.rate:>5.2f}x "
            f"{kcat.peak_rss_mb:>7.0f}MB {choreo.peak_rss_mb:>9.0f}MB {size:>9.0f}"
        )
    big, small = rows[0][2].peak_rss_mb, rows[1][2].peak_rss_mb
    print(f"\nchoreo peak RSS at {rows[0][0]:,} vs {rows[1][0]:,} events: {big:.0f} MB vs {small:.0f} MB")


if __name__ == "__main__":
    main()
